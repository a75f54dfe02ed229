import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { responseContentType, WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier, type CallbackQuery } from './wechat-callback-verifier';

/**
 * `GET|POST /wechat/:appId`: the URL WeChat pushes to. Verification and dispatch live in their own services. The
 * body arrives as the exact string WeChat sent (createApp keeps XML and untyped bodies raw; over 64 KB is a 413).
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

  @Post(':appId')
  @HttpCode(200)
  async receive(
    @Param('appId') appId: string,
    @Query() query: CallbackQuery,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const push = this.verifier.verifyRequest(appId, query, body, contentType);
    const response = await this.dispatcher.handle(push);
    void reply.header('content-type', responseContentType(response));
    return response;
  }
}
