import { WechatApiError } from './wechat-api.error';

/**
 * An API quota is used up: `daily` (45009 — until midnight Beijing time, or a `clear_quota`, 10 a month) or
 * `minute` (45011 — retry in the next minute). Never retried automatically.
 */
export class WechatQuotaError extends WechatApiError {
  constructor(
    errcode: number,
    errmsg: string,
    path: string,
    rid?: string,
    readonly scope: 'daily' | 'minute' = errcode === 45011 ? 'minute' : 'daily',
  ) {
    super(
      errcode,
      errmsg,
      path,
      rid,
      `WeChat ${path}: the ${scope} quota is used up (errcode ${errcode}: ${errmsg})${rid ? ` (rid ${rid})` : ''}`,
    );
    this.name = 'WechatQuotaError';
  }
}
