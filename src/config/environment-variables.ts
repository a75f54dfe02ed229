import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';
import { ConfigError, validationProblems } from './config-error';

/** LOG_LEVEL's values, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const hostPortList = /^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/;

/**
 * Every environment variable of the service, as class-validator checks it. A new variable is declared here (and in
 * `integerVariables` when it is a whole number); loadWxhubConfig turns the checked values into WxhubConfig.
 */
export class EnvironmentVariables {
  @IsOptional() @IsIn(['development', 'production', 'test']) NODE_ENV?: string;
  @IsOptional() @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @IsString() HOST?: string;
  @IsOptional() @IsString() WECHAT_ACCOUNTS?: string;
  @IsOptional() @IsString() WECHAT_ACCOUNTS_FILE?: string;
  @IsOptional() @IsString() WECHAT_CLIENTS?: string;
  @IsOptional() @IsIn(['true', 'false']) DROPIN_ACCEPT_APP_SECRET?: string;
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
  @IsOptional() @IsIn(LOG_LEVELS) LOG_LEVEL?: LogLevel;
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
  @IsOptional() @IsInt() @Min(1000) @Max(300_000) HTTP_HEADERS_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(1000) @Max(3_600_000) HTTP_REQUEST_TIMEOUT_MS?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100_000) HTTP_MAX_CONNECTIONS_PER_CLIENT?: number;
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
  'HTTP_HEADERS_TIMEOUT_MS',
  'HTTP_REQUEST_TIMEOUT_MS',
  'HTTP_MAX_CONNECTIONS_PER_CLIENT',
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

/** The environment's non-empty variables, whole numbers converted; throws ConfigError naming each bad one. */
export function readEnvironment(raw: NodeJS.ProcessEnv): EnvironmentVariables {
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
  problems.push(...validationProblems(validateSync(env, { forbidUnknownValues: false }), ''));
  if (problems.length) throw new ConfigError(problems);
  return env;
}
