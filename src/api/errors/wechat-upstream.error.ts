import { WechatApiError } from './wechat-api.error';

/**
 * How a call failed without a WeChat errcode: `http` (a status other than 2xx, e.g. a 502 from a proxy),
 * `timeout`, `network` (connection refused/reset, DNS) or `invalid-response` (not JSON where JSON was expected).
 */
export type WechatUpstreamFailure = 'http' | 'timeout' | 'network' | 'invalid-response';

/**
 * No usable answer from WeChat. `errcode` is -1 (like WeChat's "system error": transient, try later) and
 * `errmsg` says what happened. Never retried automatically: a POST may have been processed.
 */
export class WechatUpstreamError extends WechatApiError {
  constructor(
    readonly kind: WechatUpstreamFailure,
    errmsg: string,
    path: string,
    /** The HTTP status, for `http`. */
    readonly statusCode?: number,
  ) {
    super(-1, errmsg, path, undefined, `WeChat ${path} gave no usable answer: ${errmsg}`);
    this.name = 'WechatUpstreamError';
  }
}
