import { CONFIGURATION_ERRCODES } from '../../wechat-transport/wechat-errcodes';

export type UpstreamFailureKind =
  'busy' | 'timeout' | 'network' | 'http' | 'configuration' | 'quota' | 'rate' | 'rejected';

/** Errcodes that mean the account's settings are wrong: retrying soon cannot help (the transport's table). */
export { CONFIGURATION_ERRCODES };

/** A call to WeChat's token endpoint failed. Never carries the AppSecret or a request URL. */
export class UpstreamTokenError extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly errcode?: number,
    readonly errmsg?: string,
  ) {
    super(message);
    this.name = 'UpstreamTokenError';
  }

  static fromErrcode(errcode: number, errmsg: string): UpstreamTokenError {
    const configuration = CONFIGURATION_ERRCODES.get(errcode);
    if (configuration) {
      // the address WeChat saw is what an operator must add to the whitelist: keep it (an IP, nothing else)
      const ip = errcode === 40164 ? /invalid ip ([0-9A-Fa-f.:]{3,45})/.exec(errmsg)?.[1] : undefined;
      const rid = /rid: ([0-9A-Za-z-]{1,64})/.exec(errmsg)?.[1];
      return new UpstreamTokenError(
        'configuration',
        `${configuration}${ip ? ` (WeChat saw ${ip})` : ''} (errcode ${errcode}${rid ? `, rid ${rid}` : ''})`,
        errcode,
        errmsg,
      );
    }
    if (errcode === -1) return new UpstreamTokenError('busy', 'WeChat is busy (errcode -1)', errcode, errmsg);
    if (errcode === 45009)
      return new UpstreamTokenError(
        'quota',
        'the daily token quota is used up (errcode 45009)',
        errcode,
        errmsg,
      );
    if (errcode === 45011)
      return new UpstreamTokenError('rate', 'the per-minute limit was hit (errcode 45011)', errcode, errmsg);
    return new UpstreamTokenError(
      'rejected',
      `WeChat refused the token call (errcode ${errcode})`,
      errcode,
      errmsg,
    );
  }
}
