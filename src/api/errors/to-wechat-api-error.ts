import { WechatApiError } from './wechat-api.error';
import { WechatBusyError } from './wechat-busy.error';
import { WechatIpWhitelistError } from './wechat-ip-whitelist.error';
import { WechatPermissionError } from './wechat-permission.error';
import { WechatQuotaError } from './wechat-quota.error';
import { WechatTokenError } from './wechat-token.error';

/** Errcodes meaning the access_token is dead: 40001 invalid / not latest, 40014 invalid, 42001 expired. */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);
/** Errcodes meaning the account may not use the API. */
export const PERMISSION_ERRCODES: ReadonlySet<number> = new Set([48001, 48004, 50001, 50002]);

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
  if (TOKEN_ERRCODES.has(errcode)) return new WechatTokenError(errcode, text, path, rid);
  if (errcode === 45009 || errcode === 45011) return new WechatQuotaError(errcode, text, path, rid);
  if (PERMISSION_ERRCODES.has(errcode)) return new WechatPermissionError(errcode, text, path, rid);
  if (errcode === 40164) return new WechatIpWhitelistError(errcode, text, path, rid);
  if (errcode === -1) return new WechatBusyError(text, path, rid);
  return new WechatApiError(errcode, text, path, rid);
}
