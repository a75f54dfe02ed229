import type { AccountConfig } from '../accounts/account-config';
import { parseCidrList } from '../common/ip';
import type { ClientDefinition } from '../clients/clients-parser';
import { loadAccountsFile } from './accounts-file';
import { loadClients } from './clients-config';
import { dedupeTtlProblem, dedupeTtlSecondsFor } from '../wechat-callback/dedupe/dedupe-window';
import { ConfigError } from './config-error';
import { CONFIG_DEFAULTS } from './defaults';
import { readEnvironment, type LogLevel } from './environment-variables';
import { parseRedisConnection, type RedisConnection } from './redis-topology';
import { SANDBOX_ADMIN_KEY, withSandboxDemoAccounts } from './sandbox-defaults';

/*
 * The configuration, by concern:
 * - environment-variables.ts: every variable and its validation (a new variable is declared there);
 * - accounts-file.ts: WECHAT_ACCOUNTS / WECHAT_ACCOUNTS_FILE, the bare list or the object form with its sections;
 * - redis-topology.ts: REDIS_URL, Sentinel or Cluster; defaults.ts: the value of each unset setting;
 * - sandbox-defaults.ts: the demo account and admin key of sandbox mode;
 * - this file: the typed result and loadWxhubConfig, which checks what spans several concerns.
 */

// NOTE: the types WxhubConfig is made of, for the modules that take a part of it, for the modules that take a part of it
export type { LogLevel } from './environment-variables';
export type { RedisAuth, RedisConnection } from './redis-topology';

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
  /** WECHAT_CLIENTS or the accounts file's `clients:` (validated); `clientKeys`: their plain keys, for the scrubber. */
  clients: ClientDefinition[];
  clientKeys: string[];
  /** DROPIN_ACCEPT_APP_SECRET (default true): whether `/cgi-bin/token` accepts the real AppSecret. */
  dropIn: { acceptAppSecret: boolean };
  trustProxy: TrustProxy;
  /**
   * Limits of the HTTP server: time to receive a request's headers, and its headers and body; open connections
   * per client address (0 = no limit).
   */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; maxConnectionsPerClient: number };
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
  const nodeEnv = env.NODE_ENV ?? CONFIG_DEFAULTS.nodeEnv;
  const problems: string[] = [];
  const production = nodeEnv === 'production';

  const file = loadAccountsFile(raw);
  let accounts = file.accounts;
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
  if (sandboxEnabled) accounts = withSandboxDemoAccounts(accounts);

  const redis = parseRedisConnection(env, problems);

  const refreshAheadSeconds = env.TOKEN_REFRESH_AHEAD_SECONDS ?? CONFIG_DEFAULTS.token.refreshAheadSeconds;
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

  let clients: ReturnType<typeof loadClients> = { clients: [], keys: [] };
  try {
    clients = loadClients(raw, file, accounts, apiKeys);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }

  const maxClockSkewSeconds =
    env.CALLBACK_MAX_CLOCK_SKEW_SECONDS ?? CONFIG_DEFAULTS.callback.maxClockSkewSeconds;
  let dedupeTtlSeconds = 0;
  try {
    dedupeTtlSeconds = dedupeTtlSecondsFor(maxClockSkewSeconds, env.CALLBACK_DEDUPE_TTL_SECONDS);
  } catch {
    problems.push(dedupeTtlProblem(maxClockSkewSeconds, env.CALLBACK_DEDUPE_TTL_SECONDS ?? 0));
  }

  const headersTimeoutMs = env.HTTP_HEADERS_TIMEOUT_MS ?? CONFIG_DEFAULTS.http.headersTimeoutMs;
  const requestTimeoutMs = env.HTTP_REQUEST_TIMEOUT_MS ?? CONFIG_DEFAULTS.http.requestTimeoutMs;
  if (headersTimeoutMs > requestTimeoutMs)
    problems.push(
      'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (which covers the headers too)',
    );

  if (problems.length) throw new ConfigError(problems);

  return {
    nodeEnv,
    port: env.PORT ?? CONFIG_DEFAULTS.port,
    host: env.HOST ?? CONFIG_DEFAULTS.host,
    logLevel: env.LOG_LEVEL ?? CONFIG_DEFAULTS.logLevel,
    accounts,
    accountsFile: env.WECHAT_ACCOUNTS_FILE,
    redis,
    keyPrefix: env.REDIS_KEY_PREFIX ?? CONFIG_DEFAULTS.keyPrefix,
    apiBaseUrl: (env.WECHAT_API_BASE_URL ?? CONFIG_DEFAULTS.apiBaseUrl).replace(/\/+$/, ''),
    token: {
      refreshAheadSeconds,
      lockTtlMs: env.TOKEN_LOCK_TTL_MS ?? CONFIG_DEFAULTS.token.lockTtlMs,
      waitTimeoutMs: env.TOKEN_WAIT_TIMEOUT_MS ?? CONFIG_DEFAULTS.token.waitTimeoutMs,
      upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS ?? CONFIG_DEFAULTS.token.upstreamTimeoutMs,
      forceDailyBudget: env.TOKEN_FORCE_DAILY_BUDGET ?? CONFIG_DEFAULTS.token.forceDailyBudget,
      forceMinIntervalSeconds:
        env.TOKEN_FORCE_MIN_INTERVAL_SECONDS ?? CONFIG_DEFAULTS.token.forceMinIntervalSeconds,
    },
    admin: { apiKeys, allowedIps },
    clients: clients.clients,
    clientKeys: clients.keys,
    dropIn: { acceptAppSecret: env.DROPIN_ACCEPT_APP_SECRET !== 'false' },
    trustProxy,
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      maxConnectionsPerClient:
        env.HTTP_MAX_CONNECTIONS_PER_CLIENT ?? CONFIG_DEFAULTS.http.maxConnectionsPerClient,
    },
    callback: {
      maxClockSkewSeconds,
      handlerTimeoutMs: env.CALLBACK_HANDLER_TIMEOUT_MS ?? CONFIG_DEFAULTS.callback.handlerTimeoutMs,
      dedupeTtlSeconds,
    },
    sandbox: {
      enabled: sandboxEnabled,
      port: env.SANDBOX_PORT ?? CONFIG_DEFAULTS.sandbox.port,
      tokenLifetimeSeconds:
        env.SANDBOX_TOKEN_LIFETIME_SECONDS ?? CONFIG_DEFAULTS.sandbox.tokenLifetimeSeconds,
    },
    docs: { enabled: env.DOCS_ENABLED !== 'false' },
    audit: { maxEntries: env.AUDIT_MAX_ENTRIES ?? CONFIG_DEFAULTS.audit.maxEntries },
    throttle: {
      windowSeconds: env.THROTTLE_WINDOW_SECONDS ?? CONFIG_DEFAULTS.throttle.windowSeconds,
      forceRefresh: env.THROTTLE_FORCE_REFRESH_LIMIT ?? CONFIG_DEFAULTS.throttle.forceRefresh,
      invalidReports: env.THROTTLE_INVALID_REPORT_LIMIT ?? CONFIG_DEFAULTS.throttle.invalidReports,
      reload: env.THROTTLE_RELOAD_LIMIT ?? CONFIG_DEFAULTS.throttle.reload,
      auditReads: env.THROTTLE_AUDIT_READ_LIMIT ?? CONFIG_DEFAULTS.throttle.auditReads,
      failedAuth: env.THROTTLE_FAILED_AUTH_LIMIT ?? CONFIG_DEFAULTS.throttle.failedAuth,
    },
  };
}
