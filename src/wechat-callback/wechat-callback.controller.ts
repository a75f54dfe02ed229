import { Body, Controller, Get, Headers, HttpCode, Optional, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { MetricsService, type CallbackRejection } from '../metrics/metrics.service';
import { AppIdMismatchError } from './errors/app-id-mismatch.error';
import { DecryptError } from './errors/decrypt.error';
import { InvalidAesKeyError } from './errors/invalid-aes-key.error';
import { InvalidSignatureError } from './errors/invalid-signature.error';
import { MalformedXmlError } from './errors/malformed-xml.error';
import { CallbackModeError } from './errors/plaintext-refused.error';
import { StaleTimestampError } from './errors/stale-timestamp.error';
import { SUCCESS, WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier, type CallbackQuery, type VerifiedPush } from './wechat-callback-verifier';

/** `GET|POST /wechat/:appId`: the URL WeChat pushes to. Verification and dispatch live in their own services. */
@Controller('wechat')
export class WechatCallbackController {
  constructor(
    private readonly verifier: WechatCallbackVerifier,
    private readonly dispatcher: WechatCallbackDispatcher,
    @Optional() private readonly metrics?: MetricsService,
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
    let push: VerifiedPush;
    try {
      if (typeof body !== 'string' || body.length === 0 || /json|form/i.test(contentType ?? '')) {
        throw new MalformedXmlError('the body must be WeChat XML');
      }
      push = this.verifier.verifyPush(appId, query, body);
    } catch (error) {
      const reason = rejection(error);
      if (reason) this.metrics?.callbackRejection(reason);
      throw error;
    }
    const response = await this.dispatcher.handle(push);
    void reply.header(
      'content-type',
      response === SUCCESS ? 'text/plain; charset=utf-8' : 'application/xml; charset=utf-8',
    );
    return response;
  }
}

function rejection(error: unknown): CallbackRejection | undefined {
  if (error instanceof InvalidSignatureError) return 'signature';
  if (error instanceof StaleTimestampError) return 'timestamp';
  if (error instanceof MalformedXmlError) return 'malformed';
  if (error instanceof CallbackModeError) return 'mode';
  if (
    error instanceof DecryptError ||
    error instanceof AppIdMismatchError ||
    error instanceof InvalidAesKeyError
  )
    return 'decrypt';
  return undefined;
}
