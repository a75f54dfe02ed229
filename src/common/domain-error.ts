/** An error answered the way WeChat answers: `{errcode, errmsg}` with an HTTP status (200, as WeChat does). */
export interface WechatErrorAnswer {
  status: number;
  errcode: number;
  errmsg: string;
}

/**
 * A failure the HTTP edge answers without knowing its class: each feature's error says its own HTTP status (and,
 * where WeChat's protocol has a better word for it, its `{errcode, errmsg}`). The exception filter and the
 * gateway map every error through the same `errorAnswer` / `wechatErrorAnswer` (common/http-status.ts).
 *
 * A `retryAfterMs` field, when a subclass has one, is sent as Retry-After.
 */
export abstract class DomainError extends Error {
  /** The status of the `{statusCode, error, message}` answer. */
  abstract readonly httpStatus: number;

  /** The answer on routes that speak WeChat's protocol; undefined: derived from {@link httpStatus}. */
  get wechatAnswer(): WechatErrorAnswer | undefined {
    return undefined;
  }
}
