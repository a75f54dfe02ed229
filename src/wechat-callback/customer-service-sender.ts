import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { TokenService } from '../token/token.service';
import { withTokenRetry } from '../wechat-transport/token-retry';
import { WechatTransport } from '../wechat-transport/wechat-transport';
import { InjectWechatCallbackOptions } from './wechat-callback.constants';
import type { ResolvedCallbackOptions } from './wechat-callback-options';

export interface CustomerServiceResult {
  ok: boolean;
  errcode: number | null;
  errmsg: string | null;
}

const TIMEOUT_MS = 10_000;

/**
 * Delivers a reply that missed WeChat's 5-second window through `POST /cgi-bin/message/custom/send`, with the
 * hub's token and one retry after a token error. Failures (e.g. 45015: the user's window has closed) are logged and
 * counted, never thrown at the caller.
 */
@Injectable()
export class CustomerServiceSender implements OnModuleDestroy {
  private readonly logger = new Logger('WechatCallback');
  private readonly transport: WechatTransport;
  readonly stats = { sent: 0, failed: 0 };

  constructor(
    private readonly tokens: TokenService,
    @InjectWechatCallbackOptions() options: ResolvedCallbackOptions,
  ) {
    this.transport = new WechatTransport({
      baseUrl: options.apiBaseUrl,
      timeoutMs: TIMEOUT_MS,
      connectTimeoutMs: TIMEOUT_MS,
      connections: 8,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.transport.close();
  }

  async send(appId: string, body: object): Promise<CustomerServiceResult> {
    let result: CustomerServiceResult = { ok: false, errcode: null, errmsg: 'not sent' };
    try {
      const outcome = await withTokenRetry({
        token: await this.tokens.getAccessToken(appId),
        call: (token) => this.post(token, body),
        errcodeOf: (answer) => answer.errcode ?? undefined,
        reportInvalid: async (token) => (await this.tokens.reportInvalid(appId, token)).value,
      });
      result = outcome.result;
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
    const response = await this.transport.request({
      method: 'POST',
      path: `/cgi-bin/message/custom/send?access_token=${encodeURIComponent(token)}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = (await this.transport.readBody(response.body)).toString('utf8');
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
