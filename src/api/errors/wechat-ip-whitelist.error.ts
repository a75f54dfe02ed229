import { WechatApiError } from './wechat-api.error';

/** 40164: this server's egress IP is not in the account's IP whitelist (add it in the WeChat console). */
export class WechatIpWhitelistError extends WechatApiError {
  /** The address WeChat saw, when its errmsg names it (`invalid ip 1.2.3.4 …, not in whitelist`). */
  readonly ip?: string;

  constructor(errcode: number, errmsg: string, path: string, rid?: string) {
    super(
      errcode,
      errmsg,
      path,
      rid,
      `WeChat ${path}: this server's IP is not in the account's IP whitelist (errcode ${errcode}: ${errmsg})`,
    );
    this.name = 'WechatIpWhitelistError';
    this.ip = /invalid ip ([0-9a-fA-F.:]+)/.exec(errmsg)?.[1];
  }
}
