import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Pool } from 'undici';
import { TokenService } from '../token/token.service';
import { InjectWechatCallbackOptions } from './wechat-callback.constants';
import type { ResolvedCallbackOptions } from './wechat-callback-options';

const TOKEN_ERRCODES = new Set([40001, 40014, 42001]);

export interface CustomerServiceResult {
  ok: boolean;
  errcode: number | null;
  errmsg: string | null;
}

/**
 * Delivers a reply that missed WeChat's 5-second window through `POST /cgi-bin/message/custom/send`, with the
 * hub's token and one retry after a token error. Failures (e.g. 45015: the user's window has closed) are logged and
 * counted, never thrown at the caller.
 */
@Injectable()
export class CustomerServiceSender implements OnModuleDestroy {
  private readonly logger = new Logger('WechatCallback');
  private readonly pool: Pool;
  private readonly basePath: string;
  readonly stats = { sent: 0, failed: 0 };

  constructor(
    private readonly tokens: TokenService,
    @InjectWechatCallbackOptions() options: ResolvedCallbackOptions,
  ) {
    const url = new URL(options.apiBaseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, { connections: 8, headersTimeout: 10_000, bodyTimeout: 10_000 });
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }

  async send(appId: string, body: object): Promise<CustomerServiceResult> {
    let result: CustomerServiceResult = { ok: false, errcode: null, errmsg: 'not sent' };
    try {
      let token = await this.tokens.getAccessToken(appId);
      result = await this.post(token, body);
      if (!result.ok && result.errcode !== null && TOKEN_ERRCODES.has(result.errcode)) {
        token = (await this.tokens.reportInvalid(appId, token)).value;
        result = await this.post(token, body);
      }
    } catch (error) {
      result = { ok: false, errcode: null, errmsg: (error as Error).message };
    }
    if (result.ok) {
      this.stats.sent++;
    } else {
      this.stats.failed++;
      this.logger.warn(
        `late reply for ${appId} could not be delivered through the customer-service API: ${result.errcode ?? ''} ${result.errmsg ?? ''}`.trim(),
      );
    }
    return result;
  }

  private async post(token: string, body: object): Promise<CustomerServiceResult> {
    const response = await this.pool.request({
      method: 'POST',
      path: `${this.basePath}/cgi-bin/message/custom/send?access_token=${encodeURIComponent(token)}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      return { ok: false, errcode: null, errmsg: `HTTP ${response.statusCode}` };
    try {
      const parsed = JSON.parse(text) as { errcode?: number; errmsg?: string };
      const errcode = parsed.errcode ?? 0;
      return { ok: errcode === 0, errcode, errmsg: parsed.errmsg ?? null };
    } catch {
      return { ok: false, errcode: null, errmsg: 'answer is not JSON' };
    }
  }
}
