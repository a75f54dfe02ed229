import { classifyErrcode } from '../../wechat-transport/wechat-errcodes';
import { WechatApiError } from './wechat-api.error';
import { WechatBusyError } from './wechat-busy.error';
import { WechatIpWhitelistError } from './wechat-ip-whitelist.error';
import { WechatPermissionError } from './wechat-permission.error';
import { WechatQuotaError } from './wechat-quota.error';
import { WechatTokenError } from './wechat-token.error';

const RID = /\s*,?\s*rid:\s*([0-9a-zA-Z]+(?:-[0-9a-zA-Z]+)*)\s*$/;

/** Splits WeChat's errmsg into the text and the ` rid: …` request id it often ends with. */
export function splitRid(errmsg: string): { errmsg: string; rid?: string } {
  const match = RID.exec(errmsg);
  if (!match) return { errmsg: errmsg.trim() };
  return { errmsg: errmsg.slice(0, match.index).trim(), rid: match[1] };
}

/**
 * The typed error for a WeChat `{errcode, errmsg}` answer. `errmsg` may still carry its ` rid: …` suffix (it is
 * split off into `rid`); `path` must not carry a query string.
 */
export function toWechatApiError(errcode: number, errmsg: string, path: string): WechatApiError {
  const { errmsg: text, rid } = splitRid(errmsg);
  switch (classifyErrcode(errcode)) {
    case 'token-dead':
      return new WechatTokenError(errcode, text, path, rid);
    case 'quota':
    case 'rate':
      return new WechatQuotaError(errcode, text, path, rid);
    case 'permission':
      return new WechatPermissionError(errcode, text, path, rid);
    case 'ip-whitelist':
      return new WechatIpWhitelistError(errcode, text, path, rid);
    case 'busy':
      return new WechatBusyError(text, path, rid);
    default:
      return new WechatApiError(errcode, text, path, rid);
  }
}
