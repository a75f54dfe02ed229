import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ROUTE_ON_REQUEST } from '../common/route-hooks';
import { RAW_JSON_BODY } from './wechat-callback.constants';
import { responseContentType, WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier, type CallbackQuery } from './wechat-callback-verifier';
import { WechatPushHook } from './wechat-push.hook';

/**
 * `GET|POST /wechat/:appId`: the URL WeChat pushes to. Verification and dispatch live in their own services. The
 * body arrives as the exact string WeChat sent (createApp keeps XML, untyped bodies and, on this route, JSON raw; over 64 KB is a 413).
 */
@Controller('wechat')
export class WechatCallbackController {
  constructor(
    private readonly verifier: WechatCallbackVerifier,
    private readonly dispatcher: WechatCallbackDispatcher,
  ) {}

  /** The URL check of the WeChat console: answers `echostr` as plain text. */
  @Get(':appId')
  verify(
    @Param('appId') appId: string,
    @Query() query: CallbackQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): string {
    const echostr = this.verifier.verifyUrl(appId, query);
    void reply.header('content-type', 'text/plain; charset=utf-8');
    return echostr;
  }

  /**
   * A push: answered by WechatPushHook in the common case; here when the hook passes it on (see there). NOTE: the
   * request itself rather than `@Param`, `@Query`, `@Body` and `@Headers`: each of those runs
   * the global pipes, four times per push for values nothing validates.
   */
  @Post(':appId')
  @HttpCode(200)
  @RouteConfig({ [RAW_JSON_BODY]: true, [ROUTE_ON_REQUEST]: WechatPushHook })
  async receive(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const { appId } = request.params as { appId: string };
    const query = request.query as CallbackQuery;
    const push = this.verifier.verifyRequest(appId, query, request.body, request.headers['content-type']);
    const response = await this.dispatcher.handle(push);
    void reply.header('content-type', responseContentType(response));
    return response;
  }
}
