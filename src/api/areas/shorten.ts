import type { WechatCaller } from '../wechat-request';

/** Longest life of a short key, in seconds (30 days; also WeChat's default). */
export const SHORT_KEY_MAX_EXPIRE_SECONDS = 2_592_000;
/** Most bytes of `long_data` (UTF-8). */
export const SHORT_KEY_MAX_DATA_BYTES = 4096;

/** `shorten/fetch`'s answer. */
export interface ShortKeyData {
  long_data: string;
  /** Unix seconds. */
  create_time: number;
  /** Seconds left. */
  expire_seconds: number;
}

/**
 * Short keys (`/cgi-bin/shorten/*`): WeChat stores up to 4 KB of data (e.g. a long URL's parameters) under a
 * short key for up to 30 days. Replaces the deprecated `shorturl` API.
 */
export class ShortenApi {
  constructor(private readonly client: WechatCaller) {}

  /**
   * `POST /cgi-bin/shorten/gen`. Resolves to the short key.
   * @throws RangeError for empty data or more than 4096 bytes, or a lifetime outside 1..2,592,000 s.
   */
  async gen(appId: string, longData: string, expireSeconds = SHORT_KEY_MAX_EXPIRE_SECONDS): Promise<string> {
    const bytes = Buffer.byteLength(longData, 'utf8');
    if (bytes === 0 || bytes > SHORT_KEY_MAX_DATA_BYTES) {
      throw new RangeError(`long_data must have 1 to ${SHORT_KEY_MAX_DATA_BYTES} bytes, not ${bytes}`);
    }
    if (
      !Number.isSafeInteger(expireSeconds) ||
      expireSeconds < 1 ||
      expireSeconds > SHORT_KEY_MAX_EXPIRE_SECONDS
    ) {
      throw new RangeError(`expire_seconds must be an integer from 1 to ${SHORT_KEY_MAX_EXPIRE_SECONDS}`);
    }
    const result = await this.client.request<{ short_key: string }>(appId, {
      method: 'POST',
      path: '/cgi-bin/shorten/gen',
      json: { long_data: longData, expire_seconds: expireSeconds },
    });
    return result.short_key;
  }

  /** `POST /cgi-bin/shorten/fetch`: the data behind a short key. */
  async fetch(appId: string, shortKey: string): Promise<ShortKeyData> {
    const result = await this.client.request<ShortKeyData>(appId, {
      method: 'POST',
      path: '/cgi-bin/shorten/fetch',
      json: { short_key: shortKey },
    });
    return {
      long_data: result.long_data,
      create_time: result.create_time,
      expire_seconds: result.expire_seconds,
    };
  }
}
