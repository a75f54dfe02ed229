import { RouteConfig } from '@nestjs/platform-fastify';
import { NO_STORE_ROUTE } from '../common/no-store';
import { Body, Controller, Get, HttpCode, Optional, Post, Query, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AccountRegistry } from '../accounts/account-registry';
import type { AuditActor } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { setRequestActor } from '../audit/request-actor';
import { AuthFailureLimiter } from '../clients/auth-failure-limiter';
import { ClientRegistry } from '../clients/client-registry';
import { authenticateDropIn } from '../clients/drop-in-credentials';
import { authorize, type Principal } from '../clients/principal';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { RateLimiter } from '../throttle/rate-limiter';
import { TokenUnavailableError } from '../token/errors/token-unavailable.error';
import { TokenService, type AccessToken } from '../token/token.service';
import { WechatErrorDto } from '../docs/error-response.dto';
import { StableTokenRequestDto, WechatTokenDto } from './wechat-token.dto';

export type WechatTokenReply =
  { access_token: string; expires_in: number } | { errcode: number; errmsg: string };

function error(errcode: number, errmsg: string): { errcode: number; errmsg: string } {
  return { errcode, errmsg };
}

/**
 * Drop-in for SDKs in any language (WxJava, wechatpy, EasyWeChat, co-wechat-api…): WeChat's own token
 * endpoints, authenticated by appid + the key of a client with `read` on that account (or the account's AppSecret,
 * while DROPIN_ACCEPT_APP_SECRET is true) and served from the hub's shared token. An SDK
 * pointed here never causes one upstream call per request, and `force_refresh` is only an invalid-token report.
 * Answers are WeChat-shaped (HTTP 200 with errcode), as the SDKs expect.
 */
const WECHAT_TOKEN_ANSWER = ApiOkResponse({
  description:
    'Always HTTP 200, as WeChat: the token, or `{errcode, errmsg}` — 40002 invalid grant_type, 41002 appid ' +
    'missing, 41004 appsecret missing, 40013 invalid appid, 40125 invalid appsecret (or the AppSecret refused by ' +
    'DROPIN_ACCEPT_APP_SECRET=false), 48001 the key may not read this appid, 45011 too many failed ' +
    'authentications from this address, 47001 malformed body, -1 no token obtainable right now.',
  schema: { oneOf: [{ $ref: getSchemaPath(WechatTokenDto) }, { $ref: getSchemaPath(WechatErrorDto) }] },
});

@Controller('cgi-bin')
@ApiTags('compat')
@ApiExtraModels(WechatTokenDto, WechatErrorDto)
export class CompatController {
  constructor(
    private readonly tokens: TokenService,
    private readonly accounts: AccountRegistry,
    private readonly clients: ClientRegistry,
    private readonly limiter: AuthFailureLimiter,
    @InjectWxhubConfig() private readonly config: WxhubConfig,
    @Optional() private readonly rateLimiter?: RateLimiter,
    @Optional() private readonly audit?: AuditLog,
  ) {}

  @Get('token')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @ApiOperation({
    summary: "Drop-in for WeChat's /cgi-bin/token",
    description:
      "For existing SDKs: WeChat's request and answer, authenticated by the configured appid + secret and served " +
      "from the hub's shared token — never one upstream call per request.",
  })
  @ApiQuery({ name: 'grant_type', required: true, enum: ['client_credential'] })
  @ApiQuery({
    name: 'appid',
    required: true,
    type: String,
    description: 'A configured AppID.',
    example: 'wxAPPID',
  })
  @ApiQuery({
    name: 'secret',
    required: true,
    type: String,
    description:
      'The key of a client with the `read` scope on this appid (or, while DROPIN_ACCEPT_APP_SECRET is true, the ' +
      "account's AppSecret).",
    example: 'CLIENT_KEY',
  })
  @WECHAT_TOKEN_ANSWER
  async token(
    @Query('grant_type') grantType: unknown,
    @Query('appid') appId: unknown,
    @Query('secret') secret: unknown,
    @Req() request: FastifyRequest,
  ): Promise<WechatTokenReply> {
    const caller = this.authenticate(grantType, appId, secret, request);
    if ('errcode' in caller) return caller;
    return this.serve(() => this.tokens.getToken(appId as string));
  }

  @Get('stable_token')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @ApiOperation({
    summary: 'Refused as WeChat does: stable_token takes POST',
    description: 'Answers `{"errcode": 43002, "errmsg": "require POST method"}` with HTTP 200.',
  })
  @ApiOkResponse({ type: WechatErrorDto, description: 'errcode 43002.' })
  stableTokenByGet(): WechatTokenReply {
    return error(43002, 'require POST method');
  }

  @Post('stable_token')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @ApiOperation({
    summary: "Drop-in for WeChat's /cgi-bin/stable_token",
    description:
      "WeChat's request and answer, served from the hub's shared token. `force_refresh: true` is treated as an " +
      'invalid-token report of the current token (compare-and-refresh), never a raw force_refresh.',
  })
  @ApiBody({ type: StableTokenRequestDto })
  @WECHAT_TOKEN_ANSWER
  @HttpCode(200)
  async stableToken(@Body() body: unknown, @Req() request: FastifyRequest): Promise<WechatTokenReply> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return error(47001, 'data format error');
    const {
      grant_type: grantType,
      appid: appId,
      secret,
      force_refresh: force,
    } = body as Record<string, unknown>;
    const caller = this.authenticate(grantType, appId, secret, request);
    if ('errcode' in caller) return caller;
    const id = appId as string;
    // a client's force_refresh is an invalid-token report: it needs `report`, else the current token is served
    if (force === true && (!caller.principal || authorize(caller.principal, 'report', id).allowed)) {
      const actor = caller.actor;
      const limited = await this.rateLimiter?.hit(
        'invalid-report',
        // counted per client; AppSecret holders are told apart by address only
        caller.principal ? `${caller.principal.actorId}:${id}` : `sdk:${id}@${request.ip}`,
      );
      if (limited && !limited.allowed) {
        // 45011 (WeChat's per-minute limit): SDKs surface it, while they retry -1 (busy) by themselves
        return error(
          45011,
          `api minute-quota reach limit, must slower, retry in ${limited.retryAfterSeconds} s ` +
            `(wxhub: at most ${limited.limit} force_refresh per ${this.rateLimiter!.windowSeconds} s)`,
        );
      }
      return this.serve(async () => {
        const current = await this.tokens.peek(id);
        if (current) return this.tokens.reportInvalid(id, current.value, actor);
        const token = await this.tokens.getToken(id);
        void this.audit?.record({
          action: 'token.invalid_report',
          appId: id,
          actor,
          result: 'ok',
          reason: 'no live token was held; fetched one',
          version: token.version,
        });
        return token;
      });
    }
    return this.serve(() => this.tokens.getToken(id));
  }

  /**
   * The drop-in check (authenticateDropIn): who the caller is, or the WeChat-shaped refusal. Wrong secrets count
   * on the drop-in's own failure surface, so they never block the admin API for the same address.
   */
  private authenticate(
    grantType: unknown,
    appId: unknown,
    secret: unknown,
    request: FastifyRequest,
  ): { errcode: number; errmsg: string } | { actor: AuditActor; principal?: Principal } {
    if (grantType !== 'client_credential') return error(40002, 'invalid grant_type');
    if (typeof appId !== 'string' || !appId) return error(41002, 'appid missing');
    if (typeof secret !== 'string' || !secret) return error(41004, 'appsecret missing');
    const account = this.accounts.get(appId);
    const decision = authenticateDropIn(
      {
        appId,
        secret,
        account: account ? { appId, appSecret: account.appSecret } : undefined,
        acceptAppSecret: this.config.dropIn.acceptAppSecret,
      },
      this.clients,
      this.limiter,
      request.ip,
    );
    if (!decision.ok) {
      if (decision.principal) {
        setRequestActor(request, { id: decision.principal.actorId, ip: request.ip }, decision.principal);
      }
      return error(decision.errcode, decision.errmsg);
    }
    if (decision.via === 'app-secret') return { actor: { id: decision.actorId, ip: request.ip } };
    const actor: AuditActor = { id: decision.principal.actorId, ip: request.ip };
    setRequestActor(request, actor, decision.principal);
    return { actor, principal: decision.principal };
  }

  private async serve(get: () => Promise<AccessToken>): Promise<WechatTokenReply> {
    try {
      const token = await get();
      return {
        access_token: token.value,
        expires_in: Math.max(0, Math.floor((token.expiresAt.getTime() - Date.now()) / 1000)),
      };
    } catch (caught) {
      if (caught instanceof TokenUnavailableError) return error(-1, 'system error');
      throw caught;
    }
  }
}
