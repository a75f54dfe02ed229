import type { AccountConfig } from '../accounts/account-config';
import { isTokenDead } from '../wechat-transport/wechat-errcodes';
import { toTransportError } from '../wechat-transport/transport-failure';
import { WechatTransport } from '../wechat-transport/wechat-transport';
import { UpstreamTokenError } from './errors/upstream-token.error';

export interface FetchedToken {
  accessToken: string;
  expiresInSeconds: number;
}

export type ProbeResult = 'alive' | 'dead' | 'unknown';

/**
 * Talks to WeChat's token endpoints through the shared WeChat transport. Request URLs carry the AppSecret
 * (legacy endpoint), so neither a URL nor an undici error message ever leaves this class: failures become
 * UpstreamTokenError with a safe message.
 */
export class WechatTokenClient {
  private readonly transport: WechatTransport;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.transport = new WechatTransport({
      baseUrl,
      timeoutMs,
      connectTimeoutMs: Math.min(timeoutMs, 3000),
      connections: 16,
    });
  }

  /** Normal mode for stable tokens unless `force`; a legacy call always rotates the token. */
  async fetchToken(account: AccountConfig, force = false): Promise<FetchedToken> {
    const body =
      account.tokenEndpoint === 'stable'
        ? await this.call('POST', '/cgi-bin/stable_token', {
            grant_type: 'client_credential',
            appid: account.appId,
            secret: account.appSecret,
            force_refresh: force,
          })
        : await this.call(
            'GET',
            `/cgi-bin/token?grant_type=client_credential&appid=${encodeURIComponent(account.appId)}&secret=${encodeURIComponent(account.appSecret)}`,
          );
    const errcode = typeof body.errcode === 'number' ? body.errcode : 0;
    if (errcode !== 0) throw UpstreamTokenError.fromErrcode(errcode, String(body.errmsg ?? ''));
    const accessToken = body.access_token;
    const expiresIn = Number(body.expires_in);
    if (typeof accessToken !== 'string' || !accessToken || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new UpstreamTokenError('http', 'WeChat answered the token call without access_token/expires_in');
    }
    return { accessToken, expiresInSeconds: expiresIn };
  }

  /**
   * A JS-SDK ticket (`type` jsapi or wx_card). A refused access_token (40001/40014/42001) comes back as an
   * UpstreamTokenError of kind `rejected` carrying that errcode, so the caller can repair the token and retry.
   */
  async fetchTicket(accessToken: string, type: 'jsapi' | 'wx_card'): Promise<FetchedToken> {
    const body = await this.call(
      'GET',
      `/cgi-bin/ticket/getticket?access_token=${encodeURIComponent(accessToken)}&type=${type}`,
    );
    const errcode = typeof body.errcode === 'number' ? body.errcode : 0;
    if (errcode !== 0) {
      const errmsg = String(body.errmsg ?? '');
      if (isTokenDead(errcode)) {
        throw new UpstreamTokenError(
          'rejected',
          `WeChat refused the access_token (errcode ${errcode})`,
          errcode,
          errmsg,
        );
      }
      throw UpstreamTokenError.fromErrcode(errcode, errmsg);
    }
    const ticket = body.ticket;
    const expiresIn = Number(body.expires_in);
    if (typeof ticket !== 'string' || !ticket || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new UpstreamTokenError('http', 'WeChat answered getticket without ticket/expires_in');
    }
    return { accessToken: ticket, expiresInSeconds: expiresIn };
  }

  /** A cheap business call (`getcallbackip`) that tells whether WeChat still accepts a token. */
  async probe(accessToken: string): Promise<ProbeResult> {
    try {
      const body = await this.call(
        'GET',
        `/cgi-bin/getcallbackip?access_token=${encodeURIComponent(accessToken)}`,
      );
      const errcode = typeof body.errcode === 'number' ? body.errcode : 0;
      if (errcode === 0) return 'alive';
      return isTokenDead(errcode) ? 'dead' : 'unknown';
    } catch {
      return 'unknown';
    }
  }

  private async call(method: 'GET' | 'POST', path: string, json?: unknown): Promise<Record<string, unknown>> {
    let text: string;
    let status: number;
    try {
      const response = await this.transport.request({
        method,
        path,
        headers: json === undefined ? {} : { 'content-type': 'application/json' },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.statusCode;
      text = (await this.transport.readBody(response.body)).toString('utf8');
    } catch (error) {
      throw toSafeError(error, this.timeoutMs);
    }
    if (status !== 200) throw new UpstreamTokenError('http', `WeChat answered HTTP ${status}`);
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new UpstreamTokenError('http', 'WeChat answered with a body that is not JSON');
  }

  async onModuleDestroy(): Promise<void> {
    await this.transport.close();
  }
}

function toSafeError(error: unknown, timeoutMs: number): UpstreamTokenError {
  const failure = toTransportError(error, timeoutMs);
  return new UpstreamTokenError(failure.kind, failure.message);
}
