import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AccountConfig } from '../accounts/account-config';
import type { RedisConnection } from '../config/wxhub-config';
import type { TokenStore } from '../store/token-store';

/** Options of TokenModule.forRoot / forRootAsync. */
export interface TokenModuleOptions {
  /** The accounts whose tokens this module owns. */
  accounts: AccountConfig[];
  /** Shared store. Omit both `redis` and `store` for the embedded single-instance store. */
  redis?: RedisConnection | null;
  /** A ready-made store (tests, custom backends); wins over `redis`. */
  store?: TokenStore;
  /** Key namespace, default `wxhub`. */
  keyPrefix?: string;
  /** Default `https://api.weixin.qq.com`. */
  apiBaseUrl?: string;
  /** Refresh when fewer seconds than this are left. Default 240. */
  refreshAheadSeconds?: number;
  /** Lease of the refresh lock; a crashed holder costs at most this long. Default 10000. */
  lockTtlMs?: number;
  /** Longest a caller without a live token waits for a refresh. Default 10000. */
  waitTimeoutMs?: number;
  /** Timeout of one call to WeChat. Default 5000. */
  upstreamTimeoutMs?: number;
  /** force_refresh calls allowed per account per day. Default 20 (WeChat's limit). */
  forceDailyBudget?: number;
  /** Minimum spacing between force refreshes. Default 30 (WeChat's limit). */
  forceMinIntervalSeconds?: number;
  /** How long an in-process copy is trusted without asking the store. Default 3000. */
  l1TtlMs?: number;
  /**
   * Scheduled refreshes (and so upstream token calls and refresh locks) run at once by this instance at most;
   * the others wait their turn. Callers that need a token now never wait behind them. Default 16.
   */
  refreshConcurrency?: number;
}

export interface TokenPlaneOptions {
  keyPrefix: string;
  apiBaseUrl: string;
  refreshAheadMs: number;
  lockTtlMs: number;
  waitTimeoutMs: number;
  upstreamTimeoutMs: number;
  forceDailyBudget: number;
  forceMinIntervalMs: number;
  l1TtlMs: number;
  refreshConcurrency: number;
  /** A token with less than this left is never handed out. */
  minServeMs: number;
  instanceId: string;
}

export function resolveTokenPlaneOptions(options: TokenModuleOptions): TokenPlaneOptions {
  const refreshAheadMs = (options.refreshAheadSeconds ?? 240) * 1000;
  return {
    keyPrefix: options.keyPrefix ?? 'wxhub',
    apiBaseUrl: options.apiBaseUrl ?? 'https://api.weixin.qq.com',
    refreshAheadMs,
    lockTtlMs: options.lockTtlMs ?? 10_000,
    waitTimeoutMs: options.waitTimeoutMs ?? 10_000,
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 5_000,
    forceDailyBudget: options.forceDailyBudget ?? 20,
    forceMinIntervalMs: (options.forceMinIntervalSeconds ?? 30) * 1000,
    l1TtlMs: options.l1TtlMs ?? 3_000,
    refreshConcurrency: options.refreshConcurrency ?? 16,
    minServeMs: Math.min(3_000, refreshAheadMs / 4),
    instanceId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
  };
}
