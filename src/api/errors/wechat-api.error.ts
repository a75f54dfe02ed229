/**
 * WeChat refused an API call, or gave no usable answer. `errcode` and `errmsg` are WeChat's (`errmsg` without
 * its ` rid: …` suffix, which is in `rid`); `path` is the API path without host or query string. The message
 * never carries an access_token, an AppSecret, an OAuth code or a refresh token.
 *
 * Subclasses name the cases a caller usually handles differently: {@link WechatTokenError},
 * {@link WechatQuotaError}, {@link WechatPermissionError}, {@link WechatIpWhitelistError}, {@link WechatBusyError}
 * and {@link WechatUpstreamError}. Any other errcode (40003 invalid openid, 43004 not following, …) is a plain
 * `WechatApiError`.
 */
export class WechatApiError extends Error {
  constructor(
    /** WeChat's errcode (`-1` for {@link WechatUpstreamError}: no answer from WeChat at all). */
    readonly errcode: number,
    /** WeChat's errmsg without the ` rid: …` suffix. */
    readonly errmsg: string,
    /** The API path, e.g. `/cgi-bin/user/info` (never the query string: it may carry a token or secret). */
    readonly path: string,
    /** WeChat's request id (look it up with `misc.getRid`), when the errmsg carried one. */
    readonly rid?: string,
    message?: string,
  ) {
    super(message ?? `WeChat ${path} failed with errcode ${errcode}: ${errmsg}${rid ? ` (rid ${rid})` : ''}`);
    this.name = 'WechatApiError';
  }
}
