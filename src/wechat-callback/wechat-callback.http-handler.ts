import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { Injectable, Logger } from '@nestjs/common';
import { storage } from 'nestjs-pino/storage';
import type { Logger as PinoLogger } from 'pino';
import { sendRaw as send, sendRawError as sendError, sendRawFailure } from '../common/raw-response';
import { runLogged } from '../logging/raw-request-log';
import { responseContentType, WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier, type CallbackQuery } from './wechat-callback-verifier';

/** WeChat's pushes are small; a larger body is refused with 413 before anything parses it. */
export const CALLBACK_BODY_LIMIT_BYTES = 64 * 1024;

const PATH_PREFIX = '/wechat/';
/** AppIDs are `wx` + 16 hex digits; anything outside this shape is left to the framework's router (404). */
const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * WeChat's push URL (`GET|POST /wechat/:appId`) served straight from Node's HTTP server, ahead of the framework:
 * every push pays only for its own checks, not for a router, a body-parser pipeline and parameter pipes. It calls
 * the same verifier and dispatcher as {@link WechatCallbackController} and answers exactly as it would (status
 * codes, `{statusCode, error, message}` errors, content types), which `createApp` relies on when it installs it.
 *
 * Requests it does not recognise (another method, another path, an appId of an unexpected shape, or any request
 * once the server is closing) are passed on to the framework.
 */
@Injectable()
export class WechatCallbackHttpHandler {
  private readonly logger = new Logger('WechatCallback');
  private closing = false;
  private requestLog: PinoLogger | undefined;

  constructor(
    private readonly verifier: WechatCallbackVerifier,
    private readonly dispatcher: WechatCallbackDispatcher,
  ) {}

  /**
   * Logs requests as the framework's request logging does (createApp): the request id (the caller's
   * `X-Request-Id` or a new one) goes back as a header and onto every line written while the push is handled,
   * with the account; one `request completed` line per request, the URL's credentials redacted.
   */
  useLogger(logger: PinoLogger): void {
    this.requestLog = logger;
  }

  /** Stops taking requests: from now on they go to the framework, which refuses new work while it closes. */
  close(): void {
    this.closing = true;
  }

  /** Handles the request and returns true when it is a callback; false leaves it untouched for the framework. */
  tryHandle(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.closing) return false;
    const method = request.method;
    if (method !== 'POST' && method !== 'GET') return false;
    const url = request.url;
    if (url === undefined || !url.startsWith(PATH_PREFIX)) return false;
    const queryAt = url.indexOf('?', PATH_PREFIX.length);
    const appId = url.slice(PATH_PREFIX.length, queryAt === -1 ? undefined : queryAt);
    if (!APP_ID.test(appId)) return false;
    const query: CallbackQuery = queryAt === -1 ? {} : parseQuery(url.slice(queryAt + 1));
    const handle = (): void => {
      if (method === 'GET') this.verifyUrl(appId, query, response);
      else this.receive(appId, query, request, response);
    };
    if (this.requestLog === undefined) handle();
    else runLogged(this.requestLog, request, response, appId, handle);
    return true;
  }

  private verifyUrl(appId: string, query: CallbackQuery, response: ServerResponse): void {
    let echostr: string;
    try {
      echostr = this.verifier.verifyUrl(appId, query);
    } catch (error) {
      this.fail(response, error);
      return;
    }
    send(response, 200, 'text/plain; charset=utf-8', echostr);
  }

  private receive(
    appId: string,
    query: CallbackQuery,
    request: IncomingMessage,
    response: ServerResponse,
  ): void {
    const declared = Number(request.headers['content-length']);
    if (declared > CALLBACK_BODY_LIMIT_BYTES) {
      this.tooLarge(request, response);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > CALLBACK_BODY_LIMIT_BYTES) {
        request.off('data', onData);
        request.off('end', onEnd);
        this.tooLarge(request, response);
        return;
      }
      chunks.push(chunk);
    };
    // NOTE: the body's events arrive in the socket's async context: the request's log context is carried over
    const context = storage.getStore();
    const onEnd = (): void => {
      const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const dispatch = (): void => {
        this.dispatch(appId, query, body, request.headers['content-type'], response).catch((error: unknown) =>
          this.fail(response, error),
        );
      };
      if (context === undefined) dispatch();
      else storage.run(context, dispatch);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    // a client that goes away mid-body has nothing to answer; the socket is already closing
    request.on('error', () => request.destroy());
  }

  private async dispatch(
    appId: string,
    query: CallbackQuery,
    body: string,
    contentType: string | undefined,
    response: ServerResponse,
  ): Promise<void> {
    const push = this.verifier.verifyRequest(appId, query, body.length === 0 ? undefined : body, contentType);
    const answer = await this.dispatcher.handle(push);
    send(response, 200, responseContentType(answer), answer);
  }

  /** 413 and the connection closed: the rest of an oversized body is never read into memory. */
  private tooLarge(request: IncomingMessage, response: ServerResponse): void {
    response.setHeader('connection', 'close');
    sendError(response, 413, 'the body is larger than WeChat sends');
    request.resume();
  }

  private fail(response: ServerResponse, error: unknown): void {
    sendRawFailure(response, error, this.logger);
  }
}
