import type { RedisConnection } from '../config/wxhub-config';
import type { CallbackDedupeStore } from './dedupe/callback-dedupe-store';

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
  /** How long a handled push is remembered for WeChat's retries. Default 120 (at least 60). */
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
  return {
    keyPrefix: options.keyPrefix ?? 'wxhub',
    apiBaseUrl: options.apiBaseUrl ?? 'https://api.weixin.qq.com',
    handlerTimeoutMs: options.handlerTimeoutMs ?? 4500,
    dedupeTtlMs: Math.max(60, options.dedupeTtlSeconds ?? 120) * 1000,
    maxClockSkewSeconds: options.maxClockSkewSeconds ?? 300,
    dedupeKeys: options.dedupeKeys ?? {},
  };
}
