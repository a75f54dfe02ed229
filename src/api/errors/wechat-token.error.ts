import { WechatApiError } from './wechat-api.error';

/**
 * WeChat rejected the access_token (40001 invalid, 40014 invalid, 42001 expired) and the one retry the client
 * makes did not help, or no retry was possible.
 *
 * `tokenRepaired` is true when the client has already reported the rejected token to the token plane, so a
 * retry by the caller uses a fresh token: the case of a streamed upload, whose stream was consumed by the
 * first attempt and cannot be sent twice.
 */
export class WechatTokenError extends WechatApiError {
  constructor(
    errcode: number,
    errmsg: string,
    path: string,
    rid?: string,
    /** Attempts made (1 when no retry was possible, 2 after the one retry). */
    readonly attempts = 1,
    /** The token has been reported and replaced: retrying the call yourself will use the new one. */
    readonly tokenRepaired = false,
  ) {
    super(
      errcode,
      errmsg,
      path,
      rid,
      `WeChat ${path} rejected the access_token (errcode ${errcode}: ${errmsg}) after ${attempts} attempt${attempts === 1 ? '' : 's'}` +
        (tokenRepaired ? '; the token has been replaced, the call can be retried' : ''),
    );
    this.name = 'WechatTokenError';
  }
}
