import type { RedisConnection } from '../config/wxhub-config';
import type { CallbackDedupeStore } from './dedupe/callback-dedupe-store';
import { dedupeTtlSecondsFor } from './dedupe/dedupe-window';

/** Options of WechatCallbackModule.forRoot / forRootAsync. */
export interface WechatCallbackModuleOptions {
  /** Shared de-duplication across instances; omit for the in-memory store (one instance only). */
  redis?: RedisConnection | null;
  /** A ready-made de-duplication store; wins over `redis`. */
  dedupeStore?: CallbackDedupeStore;
  /** Key namespace, default `wxhub`. */
  keyPrefix?: string;
  /** For replies sent late through the customer-service API. Default `https://api.weixin.qq.com`. */
  apiBaseUrl?: string;
  /** A handler slower than this is answered `success` and its reply goes out through the customer-service API. Default 4500. */
  handlerTimeoutMs?: number;
  /**
   * How long a handled push is remembered, against WeChat's retries and replays. Default: the whole timestamp
   * window (2 × maxClockSkewSeconds + 30), or 120 with the window off; a shorter value is refused (throws).
   */
  dedupeTtlSeconds?: number;
  /** Reject pushes whose timestamp is further from now; 0 = off. Default 300. */
  maxClockSkewSeconds?: number;
  /**
   * Custom de-duplication keys by msgType or Event (e.g. `{ LOCATION: (m) => m.FromUserName as string }`); return
   * null to skip de-duplication for that push. Default: `MsgId` for messages, FromUserName + CreateTime + Event +
   * EventKey for events.
   */
  dedupeKeys?: Record<string, (message: Record<string, unknown>) => string | null>;
}

export interface ResolvedCallbackOptions {
  keyPrefix: string;
  apiBaseUrl: string;
  handlerTimeoutMs: number;
  dedupeTtlMs: number;
  maxClockSkewSeconds: number;
  dedupeKeys: Record<string, (message: Record<string, unknown>) => string | null>;
}

export function resolveCallbackOptions(options: WechatCallbackModuleOptions): ResolvedCallbackOptions {
  const skew = options.maxClockSkewSeconds ?? 300;
  return {
    keyPrefix: options.keyPrefix ?? 'wxhub',
    apiBaseUrl: options.apiBaseUrl ?? 'https://api.weixin.qq.com',
    handlerTimeoutMs: options.handlerTimeoutMs ?? 4500,
    dedupeTtlMs: dedupeTtlSecondsFor(skew, options.dedupeTtlSeconds) * 1000,
    maxClockSkewSeconds: skew,
    dedupeKeys: options.dedupeKeys ?? {},
  };
}
