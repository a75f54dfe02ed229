import { Injectable } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import { isTokenDead } from '../wechat-transport/wechat-errcodes';
import { InjectApiOptions } from './api.constants';
import type { ResolvedApiOptions } from './api-options';
import { WechatApiError } from './errors/wechat-api.error';
import { WechatApiClient } from './wechat-api-client';

/** `snsapi_base`: silent, openid only. `snsapi_userinfo`: a consent page, then the profile is readable. */
export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo';

/**
 * A user's web access token (网页授权 access_token). Per user, not per account: keep it with the user's
 * session, never in the hub's basic-token store. It cannot call `/cgi-bin/*`.
 */
export interface WebAccessToken {
  access_token: string;
  /** Seconds (7200). */
  expires_in: number;
  /** Valid 30 days; renews `access_token` through {@link WechatOAuth.refresh}. */
  refresh_token: string;
  openid: string;
  /** The scope granted, e.g. `snsapi_userinfo` (comma-separated when several). */
  scope: string;
  /** When the account is bound to an Open Platform account. */
  unionid?: string;
  /** 1 when the user only saw a snapshot page (no real openid behaviour). */
  is_snapshotuser?: number;
}

/** `/sns/userinfo`: the profile a `snsapi_userinfo` grant unlocks (also for users who do not follow). */
export interface WebUserInfo {
  openid: string;
  nickname: string;
  /** 1 male, 2 female, 0 unknown. */
  sex: number;
  province: string;
  city: string;
  country: string;
  headimgurl: string;
  privilege: string[];
  unionid?: string;
}

/** Most characters of `state`, which must be letters and digits. */
export const OAUTH_STATE_MAX = 128;

/**
 * OAuth2 web authorization (网页授权) for pages opened inside WeChat: build the authorize URL, exchange the
 * returned `code` for a per-user web token, refresh it, read the profile, check a token.
 *
 * Errors are WeChat's, typed: 40029 invalid code, 40163 code already used (codes are single-use and live
 * 5 minutes), 42002 / 40030 refresh token expired / invalid (plain `WechatApiError`), 48001 scope too narrow
 * (`WechatPermissionError`), 40001 / 42001 web token invalid / expired (`WechatTokenError`, never retried:
 * only the user can get a new code). The AppSecret, codes and tokens never appear in an error.
 */
@Injectable()
export class WechatOAuth {
  constructor(
    private readonly client: WechatApiClient,
    private readonly accounts: AccountRegistry,
    @InjectApiOptions() private readonly options: ResolvedApiOptions,
  ) {}

  /**
   * The page to send the user to, exactly as WeChat requires:
   * `https://open.weixin.qq.com/connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=…&state=…#wechat_redirect`.
   * WeChat then redirects to `redirectUri?code=CODE&state=STATE` (no code if the user declines).
   * @param redirectUri an absolute http(s) URL on a domain configured as the account's OAuth domain.
   * @param state up to 128 letters and digits, echoed back (use it against CSRF).
   * @throws RangeError for a bad state, TypeError for a bad redirect URI, AccountNotFoundError for an unknown appId.
   */
  authorizeUrl(appId: string, redirectUri: string, scope: OAuthScope, state = ''): string {
    this.accounts.getOrThrow(appId);
    if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo') {
      throw new TypeError('scope must be snsapi_base or snsapi_userinfo');
    }
    if (!/^[a-zA-Z0-9]*$/.test(state) || state.length > OAUTH_STATE_MAX) {
      throw new RangeError(`state must be at most ${OAUTH_STATE_MAX} letters and digits`);
    }
    let url: URL;
    try {
      url = new URL(redirectUri);
    } catch {
      throw new TypeError('redirectUri must be an absolute http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError('redirectUri must be an absolute http(s) URL');
    }
    return (
      `${this.options.oauthBaseUrl}/connect/oauth2/authorize?appid=${encodeURIComponent(appId)}` +
      `&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=${scope}&state=${state}#wechat_redirect`
    );
  }

  /**
   * `GET /sns/oauth2/access_token`: trades the `code` WeChat appended to the redirect for the user's web token.
   * A code works once (40163 after) and for 5 minutes (40029). Not retried: a code cannot be spent twice.
   */
  exchangeCode(appId: string, code: string): Promise<WebAccessToken> {
    const { appSecret } = this.accounts.getOrThrow(appId);
    return this.client.requestWithoutToken<WebAccessToken>({
      method: 'GET',
      path: '/sns/oauth2/access_token',
      query: { appid: appId, secret: appSecret, code, grant_type: 'authorization_code' },
      retryBusy: false,
      redact: [appSecret, code],
    });
  }

  /** `GET /sns/oauth2/refresh_token`: a new web token from a refresh token (valid 30 days). */
  refresh(appId: string, refreshToken: string): Promise<WebAccessToken> {
    this.accounts.getOrThrow(appId);
    return this.client.requestWithoutToken<WebAccessToken>({
      method: 'GET',
      path: '/sns/oauth2/refresh_token',
      query: { appid: appId, grant_type: 'refresh_token', refresh_token: refreshToken },
      redact: [refreshToken],
    });
  }

  /** `GET /sns/userinfo` with the user's web token (scope `snsapi_userinfo`; 48001 for `snsapi_base`). */
  userInfo(webToken: string, openid: string, lang: 'zh_CN' | 'zh_TW' | 'en' = 'zh_CN'): Promise<WebUserInfo> {
    return this.client.requestWithoutToken<WebUserInfo>({
      method: 'GET',
      path: '/sns/userinfo',
      query: { access_token: webToken, openid, lang },
      redact: [webToken],
    });
  }

  /**
   * `GET /sns/auth`: whether a web token is still valid for this openid. Resolves false for an invalid or
   * expired token (40001/40014/42001) or a token of another user (40003); other errors are thrown.
   */
  async checkWebToken(webToken: string, openid: string): Promise<boolean> {
    try {
      await this.client.requestWithoutToken({
        method: 'GET',
        path: '/sns/auth',
        query: { access_token: webToken, openid },
        redact: [webToken],
      });
      return true;
    } catch (error) {
      // 40003: the token belongs to another user
      if (error instanceof WechatApiError && (isTokenDead(error.errcode) || error.errcode === 40003))
        return false;
      throw error;
    }
  }
}
