import { WechatApiError } from './wechat-api.error';

/**
 * The account (or token type) may not use this API: 48001 api unauthorized (missing permission, unverified
 * account, or a basic token used where a web token is needed), 48004 api forbidden (banned), 50001 / 50002
 * user unauthorized / limited. Retrying cannot help.
 */
export class WechatPermissionError extends WechatApiError {
  constructor(errcode: number, errmsg: string, path: string, rid?: string) {
    super(errcode, errmsg, path, rid);
    this.name = 'WechatPermissionError';
  }
}
