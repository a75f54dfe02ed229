import type { AccountRegistry } from '../../accounts/account-registry';
import type { AuditLog } from '../../audit/audit-log.service';
import { WechatApiError } from '../errors/wechat-api.error';
import type { WechatCaller } from '../wechat-request';

/** `callback/check` actions: DNS resolution, ping, or both. */
export type CallbackCheckAction = 'all' | 'dns' | 'ping';
/** Network operator WeChat checks from. */
export type CallbackCheckOperator = 'CHINANET' | 'UNICOM' | 'CAP' | 'DEFAULT';

/** What `callback/check` found reaching our callback URL. */
export interface CallbackCheckResult {
  dns?: { ip: string; real_operator: string }[];
  ping?: { ip: string; from_operator: string; package_loss: string; time: string }[];
}

/** Today's use of one API (`openapi/quota/get`). */
export interface ApiQuota {
  daily_limit: number;
  used: number;
  remain: number;
}

/** What WeChat recorded about a failed request (`openapi/rid/get`). */
export interface RidInfo {
  /** Unix seconds. */
  invoke_time: number;
  cost_in_ms: number;
  request_url: string;
  request_body: string;
  response_body: string;
  client_ip: string;
}

/**
 * Infrastructure helpers: WeChat's IP lists, a network check of our callback URL, quota inspection and
 * reset, request-id lookup. Quota resets are never retried automatically: each one spends one of the
 * account's 10 resets a month (48006 once spent).
 */
export class MiscApi {
  constructor(
    private readonly client: WechatCaller,
    private readonly accounts: AccountRegistry,
    private readonly audit?: AuditLog,
  ) {}

  /** `GET /cgi-bin/getcallbackip`: the addresses WeChat calls our callback URL from. */
  callbackIps(appId: string): Promise<string[]> {
    return this.ipList(appId, '/cgi-bin/getcallbackip');
  }

  /** `GET /cgi-bin/get_api_domain_ip`: the addresses of api.weixin.qq.com (they change: refresh daily, never pin). */
  apiDomainIps(appId: string): Promise<string[]> {
    return this.ipList(appId, '/cgi-bin/get_api_domain_ip');
  }

  private async ipList(appId: string, path: string): Promise<string[]> {
    return (await this.client.request<{ ip_list: string[] }>(appId, { method: 'GET', path })).ip_list;
  }

  /** `POST /cgi-bin/callback/check`: WeChat resolves and/or pings our callback domain and reports what it saw. */
  checkCallback(
    appId: string,
    action: CallbackCheckAction = 'all',
    operator: CallbackCheckOperator = 'DEFAULT',
  ): Promise<CallbackCheckResult> {
    return this.client.request<CallbackCheckResult>(appId, {
      method: 'POST',
      path: '/cgi-bin/callback/check',
      json: { action, check_operator: operator },
    });
  }

  /**
   * `POST /cgi-bin/clear_quota`: resets all of the account's daily API counters, using its access_token.
   * 10 resets a month per account (shared with the console and {@link clearQuotaWithSecret}); 48006 after that.
   */
  async clearQuota(appId: string): Promise<void> {
    await this.audited(appId, 'v1', () =>
      this.client.request(appId, {
        method: 'POST',
        path: '/cgi-bin/clear_quota',
        json: { appid: appId },
        retryBusy: false,
      }),
    );
  }

  /**
   * `POST /cgi-bin/clear_quota/v2`: the same reset authenticated by AppID + AppSecret (from the account
   * configuration), for when the token quota itself is spent. Shares the 10-a-month budget. The credentials go
   * in the query string, as WeChat's example shows, and in a JSON body; the AppSecret never appears in an error.
   */
  async clearQuotaWithSecret(appId: string): Promise<void> {
    const { appSecret } = this.accounts.getOrThrow(appId);
    await this.audited(appId, 'v2', () =>
      this.client.requestWithoutToken({
        method: 'POST',
        path: '/cgi-bin/clear_quota/v2',
        query: { appid: appId, appsecret: appSecret },
        json: { appid: appId, appsecret: appSecret },
        retryBusy: false,
        redact: [appSecret],
      }),
    );
  }

  /** Every quota reset goes to the audit log (`quota.clear`, actor `internal`), with WeChat's errcode and rid. */
  private async audited(appId: string, variant: 'v1' | 'v2', clear: () => Promise<unknown>): Promise<void> {
    const details = { variant, via: 'client' };
    try {
      await clear();
    } catch (error) {
      void this.audit?.record(
        error instanceof WechatApiError
          ? {
              action: 'quota.clear',
              appId,
              result: 'failed',
              reason: error.errmsg,
              errcode: error.errcode,
              rid: error.rid,
              details,
            }
          : { action: 'quota.clear', appId, result: 'failed', reason: (error as Error).message, details },
      );
      throw error;
    }
    void this.audit?.record({ action: 'quota.clear', appId, result: 'ok', details });
  }

  /**
   * `POST /cgi-bin/openapi/quota/get`: today's limit and use of one API.
   * @param cgiPath the API path without host, with its leading `/`, e.g. `/cgi-bin/message/custom/send`
   *   (`/sns/*` paths are not supported by WeChat: 76022).
   * @throws RangeError for a path without a leading `/` or with a host.
   */
  async quota(appId: string, cgiPath: string): Promise<ApiQuota> {
    if (!cgiPath.startsWith('/') || cgiPath.includes('://') || cgiPath.includes('?')) {
      throw new RangeError(
        'cgi_path is an API path with a leading "/", without host or query, e.g. /cgi-bin/menu/get',
      );
    }
    const result = await this.client.request<{ quota: ApiQuota }>(appId, {
      method: 'POST',
      path: '/cgi-bin/openapi/quota/get',
      json: { cgi_path: cgiPath },
    });
    return result.quota;
  }

  /** `POST /cgi-bin/openapi/rid/get`: details of a failed request by the `rid` of its error (`WechatApiError.rid`). */
  async rid(appId: string, rid: string): Promise<RidInfo> {
    const result = await this.client.request<{ request: RidInfo }>(appId, {
      method: 'POST',
      path: '/cgi-bin/openapi/rid/get',
      json: { rid },
    });
    return result.request;
  }
}
