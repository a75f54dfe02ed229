import { WechatApiError } from './wechat-api.error';

/** WeChat answered -1 (system busy) to every attempt, including the client's bounded retries. */
export class WechatBusyError extends WechatApiError {
  constructor(
    errmsg: string,
    path: string,
    rid?: string,
    /** Attempts made before giving up. */
    readonly attempts = 1,
  ) {
    super(
      -1,
      errmsg,
      path,
      rid,
      `WeChat ${path} is busy (errcode -1: ${errmsg}) after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
    );
    this.name = 'WechatBusyError';
  }
}
