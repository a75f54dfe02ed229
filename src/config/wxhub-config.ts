import { readFileSync } from 'node:fs';
import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  validateSync,
  ValidationError,
} from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { AccountConfig } from '../accounts/account-config';
import { parseCidrList } from '../common/ip';
import { SANDBOX_ADMIN_KEY, SANDBOX_DEMO_ACCOUNT } from '../sandbox/sandbox.constants';
import { redisUrlProblems } from '../store/redis-url';
import { ConfigError } from './config-error';

/** Credentials and TLS of the Redis data nodes in Sentinel and Cluster modes (URL mode carries its own). */
export interface RedisAuth {
  username?: string;
  password?: string;
  /** TLS to the data nodes (and, in Sentinel mode, to the sentinels). */
  tls?: boolean;
}

/**
 * Where the shared state lives: one server (`url`, credentials and TLS in the URL), a Sentinel-managed master,
 * or a Redis Cluster (seed nodes; the rest is discovered).
 */
export type RedisConnection =
  | { kind: 'url'; url: string }
  | ({
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      /** `requirepass` of the sentinels themselves, when they have one. */
      sentinelPassword?: string;
    } & RedisAuth)
  | ({ kind: 'cluster'; nodes: { host: string; port: number }[] } & RedisAuth);

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type TrustProxy = boolean | number | string[];

/** The whole service's configuration, validated once at boot. */
export interface WxhubConfig {
  nodeEnv: string;
  port: number;
  host: string;
  logLevel: LogLevel;
  accounts: AccountConfig[];
  accountsFile: string | undefined;
  redis: RedisConnection | null;
  keyPrefix: string;
  apiBaseUrl: string;
  token: {
    refreshAheadSeconds: number;
    lockTtlMs: number;
    waitTimeoutMs: number;
    upstreamTimeoutMs: number;
    forceDailyBudget: number;
    forceMinIntervalSeconds: number;
  };
  admin: { apiKeys: string[]; allowedIps: string[] };
  trustProxy: TrustProxy;
  callback: { maxClockSkewSeconds: number; handlerTimeoutMs: number; dedupeTtlSeconds: number };
  sandbox: { enabled: boolean; port: number; tokenLifetimeSeconds: number };
  /** OpenAPI document and Swagger UI at `/docs` (DOCS_ENABLED, default true: the document holds no secret). */
  docs: { enabled: boolean };
  audit: { maxEntries: number };
  throttle: ThrottleConfig;
}

/**
 * Rate limits: requests allowed per client per window (0 = no limit). Token reads, callbacks and the gateway's
 * traffic are never limited.
 */
export interface ThrottleConfig {
  windowSeconds: number;
  forceRefresh: number;
  invalidReports: number;
  reload: number;
  auditReads: number;
  failedAuth: number;
}

const hostPortList = /^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/;

class EnvironmentVariables {
  @IsOptional() @IsIn(['development', 'production', 'test']) NODE_ENV?: string;
  @IsOptional() @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @IsString() HOST?: string;
  @IsOptional() @IsString() WECHAT_ACCOUNTS?: string;
  @IsOptional() @IsString() WECHAT_ACCOUNTS_FILE?: string;
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must start with redis:// or rediss://' })
  REDIS_URL?: string;
  @IsOptional()
  @Matches(hostPortList, { message: 'REDIS_SENTINELS must be host:port,host:port,…' })
  REDIS_SENTINELS?: string;
  @IsOptional() @IsString() REDIS_SENTINEL_NAME?: string;
  @IsOptional()
  @Matches(hostPortList, { message: 'REDIS_CLUSTER_NODES must be host:port,host:port,…' })
  REDIS_CLUSTER_NODES?: string;
  @IsOptional() @IsString() REDIS_USERNAME?: string;
  @IsOptional() @IsString() REDIS_PASSWORD?: string;
  @IsOptional() @IsString() REDIS_SENTINEL_PASSWORD?: string;
  @IsOptional() @IsIn(['true', 'false']) REDIS_TLS?: string;
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'REDIS_KEY_PREFIX must be 1 to 64 of A-Z a-z 0-9 _ . -' })
  REDIS_KEY_PREFIX?: string;
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  WECHAT_API_BASE_URL?: string;
  @IsOptional() @IsInt() @Min(1) @Max(7000) TOKEN_REFRESH_AHEAD_SECONDS?: number;
  @IsOptional() @IsInt() @Min(1000) @Max(120000) TOKEN_LOCK_TTL_MS?: number;
  @IsOptional() @IsInt() @Min(100) @Max(120000) TOKEN_WAIT_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(100) @Max(60000) UPSTREAM_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(0) @Max(20) TOKEN_FORCE_DAILY_BUDGET?: number;
  @IsOptional() @IsInt() @Min(30) @Max(86400) TOKEN_FORCE_MIN_INTERVAL_SECONDS?: number;
  @IsOptional() @IsString() ADMIN_API_KEYS?: string;
  @IsOptional() @IsString() ADMIN_ALLOWED_IPS?: string;
  @IsOptional() @IsString() TRUST_PROXY?: string;
  @IsOptional() @IsInt() @Min(0) CALLBACK_MAX_CLOCK_SKEW_SECONDS?: number;
  @IsOptional() @IsInt() @Min(100) @Max(4900) CALLBACK_HANDLER_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(60) @Max(86400) CALLBACK_DEDUPE_TTL_SECONDS?: number;
  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace']) LOG_LEVEL?: LogLevel;
  @IsOptional() @IsIn(['true', 'false']) WECHAT_SANDBOX?: string;
  @IsOptional() @IsInt() @Min(0) @Max(65535) SANDBOX_PORT?: number;
  @IsOptional() @IsInt() @Min(60) @Max(7200) SANDBOX_TOKEN_LIFETIME_SECONDS?: number;
  @IsOptional() @IsIn(['true', 'false']) DOCS_ENABLED?: string;
  @IsOptional() @IsInt() @Min(10) @Max(1_000_000) AUDIT_MAX_ENTRIES?: number;
  @IsOptional() @IsInt() @Min(1) @Max(3600) THROTTLE_WINDOW_SECONDS?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100_000) THROTTLE_FORCE_REFRESH_LIMIT?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100_000) THROTTLE_INVALID_REPORT_LIMIT?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100_000) THROTTLE_RELOAD_LIMIT?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100_000) THROTTLE_AUDIT_READ_LIMIT?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100_000) THROTTLE_FAILED_AUTH_LIMIT?: number;
}

const integerVariables = new Set([
  'PORT',
  'TOKEN_REFRESH_AHEAD_SECONDS',
  'TOKEN_LOCK_TTL_MS',
  'TOKEN_WAIT_TIMEOUT_MS',
  'UPSTREAM_TIMEOUT_MS',
  'TOKEN_FORCE_DAILY_BUDGET',
  'TOKEN_FORCE_MIN_INTERVAL_SECONDS',
  'CALLBACK_MAX_CLOCK_SKEW_SECONDS',
  'CALLBACK_HANDLER_TIMEOUT_MS',
  'CALLBACK_DEDUPE_TTL_SECONDS',
  'SANDBOX_PORT',
  'SANDBOX_TOKEN_LIFETIME_SECONDS',
  'AUDIT_MAX_ENTRIES',
  'THROTTLE_WINDOW_SECONDS',
  'THROTTLE_FORCE_REFRESH_LIMIT',
  'THROTTLE_INVALID_REPORT_LIMIT',
  'THROTTLE_RELOAD_LIMIT',
  'THROTTLE_AUDIT_READ_LIMIT',
  'THROTTLE_FAILED_AUTH_LIMIT',
]);

function flatten(errors: ValidationError[], path: string): string[] {
  return errors.flatMap((error) => {
    const here = /^\d+$/.test(error.property)
      ? `${path}[${error.property}]`
      : path
        ? `${path}.${error.property}`
        : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property)
        ? `${here}${message.slice(error.property.length)}`
        : `${here}: ${message}`,
    );
    return [...own, ...flatten(error.children ?? [], here)];
  });
}

function readEnvironment(raw: NodeJS.ProcessEnv): EnvironmentVariables {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === '') continue;
    if (integerVariables.has(key)) {
      const n = Number(value);
      if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
        problems.push(`${key} must be a whole number`);
      else values[key] = n;
    } else {
      values[key] = value;
    }
  }
  const env = plainToInstance(EnvironmentVariables, values);
  problems.push(...flatten(validateSync(env, { forbidUnknownValues: false }), ''));
  if (problems.length) throw new ConfigError(problems);
  return env;
}

/** Parses and validates accounts given as JSON (WECHAT_ACCOUNTS) or YAML/JSON text (WECHAT_ACCOUNTS_FILE). */
export function parseAccounts(text: string, source: string): AccountConfig[] {
  let data: unknown;
  const json = source.endsWith('WECHAT_ACCOUNTS');
  try {
    // failsafe: every scalar stays a string, so an all-digit secret is not turned into a number
    data = json ? JSON.parse(text) : parseYaml(text, { schema: 'failsafe' });
  } catch (error) {
    // parser messages quote the text around the error, which may be a secret: keep only the position
    const at = /position (\d+)|line (\d+)/.exec((error as Error).message);
    const where = at ? (at[1] !== undefined ? ` (near character ${at[1]})` : ` (near line ${at[2]})`) : '';
    throw new ConfigError([`${source} is not valid ${json ? 'JSON' : 'YAML/JSON'}${where}`]);
  }
  if (data && typeof data === 'object' && !Array.isArray(data) && 'accounts' in data) {
    data = (data as { accounts: unknown }).accounts;
  }
  if (!Array.isArray(data)) throw new ConfigError([`${source} must be an array of accounts`]);
  const problems: string[] = [];
  const accounts = data.map((item: unknown, index) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${source}[${index}] must be an object`);
      return new AccountConfig();
    }
    const account = plainToInstance(AccountConfig, item);
    const known = new Set(['appId', 'appSecret', 'token', 'encodingAESKey', 'messageMode', 'tokenEndpoint']);
    for (const key of Object.keys(item)) {
      if (!known.has(key)) problems.push(`${source}[${index}].${key} is not a known account field`);
    }
    problems.push(...flatten(validateSync(account), `${source}[${index}]`));
    return account;
  });
  const seen = new Set<string>();
  accounts.forEach((account, index) => {
    if (account.appId && seen.has(account.appId)) problems.push(`${source}[${index}].appId is a duplicate`);
    seen.add(account.appId);
  });
  if (problems.length) throw new ConfigError(problems);
  return accounts;
}

export function loadAccounts(env: NodeJS.ProcessEnv): AccountConfig[] {
  if (env.WECHAT_ACCOUNTS && env.WECHAT_ACCOUNTS_FILE) {
    throw new ConfigError(['set either WECHAT_ACCOUNTS or WECHAT_ACCOUNTS_FILE, not both']);
  }
  if (env.WECHAT_ACCOUNTS) return parseAccounts(env.WECHAT_ACCOUNTS, 'WECHAT_ACCOUNTS');
  if (env.WECHAT_ACCOUNTS_FILE) {
    let text: string;
    try {
      text = readFileSync(env.WECHAT_ACCOUNTS_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError([
        `WECHAT_ACCOUNTS_FILE cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      ]);
    }
    return parseAccounts(text, 'WECHAT_ACCOUNTS_FILE');
  }
  return [];
}

function hostPorts(text: string, variable: string, problems: string[]): { host: string; port: number }[] {
  return text.split(',').map((part) => {
    const [host = '', port = ''] = part.trim().split(':');
    if (Number(port) < 1 || Number(port) > 65535) problems.push(`${variable}: port ${port} is out of range`);
    return { host, port: Number(port) };
  });
}

/** One of the three modes, with credentials that apply to it; a mix of modes is refused by name. */
function parseRedisConnection(env: EnvironmentVariables, problems: string[]): RedisConnection | null {
  const modes = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => env[name],
  );
  if (modes.length > 1) {
    problems.push(
      `set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got ${modes.join(' and ')})`,
    );
    return null;
  }
  if (env.REDIS_SENTINEL_NAME && !env.REDIS_SENTINELS)
    problems.push('REDIS_SENTINEL_NAME is only used with REDIS_SENTINELS');
  if (env.REDIS_SENTINEL_PASSWORD && !env.REDIS_SENTINELS)
    problems.push('REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS');
  const auth: RedisAuth = {};
  if (env.REDIS_USERNAME) auth.username = env.REDIS_USERNAME;
  if (env.REDIS_PASSWORD) auth.password = env.REDIS_PASSWORD;
  if (env.REDIS_TLS === 'true') auth.tls = true;
  const authVariables = [
    ...(auth.username ? ['REDIS_USERNAME'] : []),
    ...(auth.password ? ['REDIS_PASSWORD'] : []),
    ...(auth.tls ? ['REDIS_TLS'] : []),
  ];
  if (env.REDIS_URL) {
    // NOTE: one place for URL-mode credentials, so a stale REDIS_PASSWORD cannot silently win over the URL's
    for (const name of authVariables) {
      problems.push(
        `${name} applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put credentials in the URL (redis://user:password@host:port) and use rediss:// for TLS`,
      );
    }
    problems.push(...redisUrlProblems(env.REDIS_URL));
    return { kind: 'url', url: env.REDIS_URL };
  }
  if (env.REDIS_SENTINELS) {
    if (!env.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS');
    return {
      kind: 'sentinel',
      sentinels: hostPorts(env.REDIS_SENTINELS, 'REDIS_SENTINELS', problems),
      name: env.REDIS_SENTINEL_NAME ?? '',
      ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
      ...auth,
    };
  }
  if (env.REDIS_CLUSTER_NODES) {
    return {
      kind: 'cluster',
      nodes: hostPorts(env.REDIS_CLUSTER_NODES, 'REDIS_CLUSTER_NODES', problems),
      ...auth,
    };
  }
  for (const name of authVariables)
    problems.push(`${name} is set but no Redis is (REDIS_SENTINELS or REDIS_CLUSTER_NODES)`);
  return null;
}

function splitList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseTrustProxy(text: string | undefined, problems: string[]): TrustProxy {
  if (!text || text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  const entries = splitList(text);
  try {
    parseCidrList(entries);
  } catch (error) {
    problems.push(`TRUST_PROXY: ${(error as Error).message}`);
  }
  return entries;
}

/** Reads and validates every variable of DESIGN.md; throws ConfigError naming each bad field. */
export function loadWxhubConfig(raw: NodeJS.ProcessEnv = process.env): WxhubConfig {
  const env = readEnvironment(raw);
  const nodeEnv = env.NODE_ENV ?? 'development';
  const problems: string[] = [];
  const production = nodeEnv === 'production';

  let accounts = loadAccounts(raw);
  const sandboxEnabled = env.WECHAT_SANDBOX
    ? env.WECHAT_SANDBOX === 'true'
    : accounts.length === 0 && !production;
  if (sandboxEnabled && production) {
    problems.push(
      'WECHAT_SANDBOX=true is refused when NODE_ENV=production (the simulator would answer for WeChat)',
    );
  }
  if (!sandboxEnabled && production && accounts.length === 0) {
    problems.push(
      'no account configured: set WECHAT_ACCOUNTS or WECHAT_ACCOUNTS_FILE (required when NODE_ENV=production)',
    );
  }
  if (sandboxEnabled && !accounts.some((a) => a.appId === SANDBOX_DEMO_ACCOUNT.appId)) {
    accounts = [...accounts, Object.assign(new AccountConfig(), SANDBOX_DEMO_ACCOUNT)];
  }

  const redis = parseRedisConnection(env, problems);

  const refreshAheadSeconds = env.TOKEN_REFRESH_AHEAD_SECONDS ?? 240;
  if (refreshAheadSeconds >= 300 && accounts.some((a) => a.tokenEndpoint === 'stable')) {
    problems.push(
      'TOKEN_REFRESH_AHEAD_SECONDS must be below 300 while an account uses the stable endpoint (stable tokens only rotate in their last 5 minutes)',
    );
  }

  const allowedIps = splitList(env.ADMIN_ALLOWED_IPS);
  try {
    parseCidrList(allowedIps);
  } catch (error) {
    problems.push(`ADMIN_ALLOWED_IPS: ${(error as Error).message}`);
  }
  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);
  let apiKeys = splitList(env.ADMIN_API_KEYS);
  if (apiKeys.some((k) => k.length < 16))
    problems.push('ADMIN_API_KEYS: every key must be at least 16 characters');
  if (apiKeys.length === 0 && sandboxEnabled) apiKeys = [SANDBOX_ADMIN_KEY];

  if (problems.length) throw new ConfigError(problems);

  return {
    nodeEnv,
    port: env.PORT ?? 3000,
    host: env.HOST ?? '0.0.0.0',
    logLevel: env.LOG_LEVEL ?? 'info',
    accounts,
    accountsFile: env.WECHAT_ACCOUNTS_FILE,
    redis,
    keyPrefix: env.REDIS_KEY_PREFIX ?? 'wxhub',
    apiBaseUrl: (env.WECHAT_API_BASE_URL ?? 'https://api.weixin.qq.com').replace(/\/+$/, ''),
    token: {
      refreshAheadSeconds,
      lockTtlMs: env.TOKEN_LOCK_TTL_MS ?? 10_000,
      waitTimeoutMs: env.TOKEN_WAIT_TIMEOUT_MS ?? 10_000,
      upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS ?? 5_000,
      forceDailyBudget: env.TOKEN_FORCE_DAILY_BUDGET ?? 20,
      forceMinIntervalSeconds: env.TOKEN_FORCE_MIN_INTERVAL_SECONDS ?? 30,
    },
    admin: { apiKeys, allowedIps },
    trustProxy,
    callback: {
      maxClockSkewSeconds: env.CALLBACK_MAX_CLOCK_SKEW_SECONDS ?? 300,
      handlerTimeoutMs: env.CALLBACK_HANDLER_TIMEOUT_MS ?? 4500,
      dedupeTtlSeconds: env.CALLBACK_DEDUPE_TTL_SECONDS ?? 120,
    },
    sandbox: {
      enabled: sandboxEnabled,
      port: env.SANDBOX_PORT ?? 0,
      tokenLifetimeSeconds: env.SANDBOX_TOKEN_LIFETIME_SECONDS ?? 7200,
    },
    docs: { enabled: env.DOCS_ENABLED !== 'false' },
    audit: { maxEntries: env.AUDIT_MAX_ENTRIES ?? 10_000 },
    throttle: {
      windowSeconds: env.THROTTLE_WINDOW_SECONDS ?? 60,
      forceRefresh: env.THROTTLE_FORCE_REFRESH_LIMIT ?? 5,
      invalidReports: env.THROTTLE_INVALID_REPORT_LIMIT ?? 600,
      reload: env.THROTTLE_RELOAD_LIMIT ?? 6,
      auditReads: env.THROTTLE_AUDIT_READ_LIMIT ?? 120,
      failedAuth: env.THROTTLE_FAILED_AUTH_LIMIT ?? 20,
    },
  };
}
