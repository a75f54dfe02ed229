import { HttpStatus, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { sendAnswerToError, sendErrorAnswer } from '../common/error-reply';
import { mayAnswerBeforeRoute, type RouteOnRequest } from '../common/route-hooks';
import { BODY_LIMIT_BYTES } from '../common/server-limits';
import { inRequestLogContext } from '../logging/request-logging';
import { responseContentType, WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier, type CallbackQuery } from './wechat-callback-verifier';

/** The content types WeChat sends a push with (none at all, too); any other goes the controller's way. */
const PUSH_TYPE = /^(?:text\/xml|application\/xml|application\/json|text\/plain)\s*(?:;|$)/i;

/**
 * The route-level onRequest hook of `POST /wechat/:appId` (ROUTE_ON_REQUEST), WeChat's push: it reads the body
 * itself and answers, so a push skips the content-type parser (an AsyncResource per body), Nest's router, pipes and
 * exception filter. It runs after every global onRequest hook (a host's included); the request line is logged as
 * for every route, and the handler's log lines carry the request id (inRequestLogContext).
 *
 * The controller route answers exactly the same way and takes everything else: a body with another content type,
 * without a length, or over the limit (413), and every push once the application has a global guard or
 * interceptor (a host's), which must see every request.
 */
@Injectable()
export class WechatPushHook implements RouteOnRequest, OnApplicationBootstrap {
  private readonly logger = new Logger('WechatCallback');
  private answersHere = true;

  constructor(
    private readonly verifier: WechatCallbackVerifier,
    private readonly dispatcher: WechatCallbackDispatcher,
    private readonly appConfig: ApplicationConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.answersHere = mayAnswerBeforeRoute(this.appConfig);
  }

  onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const { headers } = request;
    const type = headers['content-type'];
    const length = Number(headers['content-length']);
    if (
      !this.answersHere ||
      headers['transfer-encoding'] !== undefined ||
      !(length >= 0 && length <= BODY_LIMIT_BYTES) ||
      (type !== undefined && !PUSH_TYPE.test(type))
    ) {
      return done();
    }
    const raw = request.raw;
    let body = '';
    raw.setEncoding('utf8');
    raw.on('data', (chunk: string) => (body += chunk));
    raw.once('end', () => inRequestLogContext(request, () => this.answer(request, reply, body)));
    raw.once('error', () => {
      // the client went away while sending: nobody reads the answer
      if (!reply.sent)
        sendErrorAnswer(reply, { status: HttpStatus.BAD_REQUEST, message: 'request body aborted' });
    });
  }

  private answer(request: FastifyRequest, reply: FastifyReply, body: string): void {
    const { appId } = request.params as { appId: string };
    const query = request.query as CallbackQuery;
    let push;
    try {
      push = this.verifier.verifyRequest(appId, query, body, request.headers['content-type']);
    } catch (error) {
      // the answer DomainErrorFilter gives on this route
      sendAnswerToError(reply, error, this.logger);
      return;
    }
    this.dispatcher.handle(push).then(
      (response) => void reply.header('content-type', responseContentType(response)).send(response),
      (error: unknown) => sendAnswerToError(reply, error, this.logger),
    );
  }
}
