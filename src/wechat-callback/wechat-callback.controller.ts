import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { MalformedXmlError } from './errors/malformed-xml.error';
import { SUCCESS, WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier, type CallbackQuery } from './wechat-callback-verifier';

/** `GET|POST /wechat/:appId`: the URL WeChat pushes to. Verification and dispatch live in their own services. */
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
    // the signature covers the exact bytes: only a body kept raw (XML, text, no content type) can be checked
    if (typeof body !== 'string' || body.length === 0 || /json|form/i.test(contentType ?? '')) {
      throw new MalformedXmlError('the body must be WeChat XML');
    }
    const push = this.verifier.verifyPush(appId, query, body);
    const response = await this.dispatcher.handle(push);
    void reply.header(
      'content-type',
      response === SUCCESS ? 'text/plain; charset=utf-8' : 'application/xml; charset=utf-8',
    );
    return response;
  }
}
