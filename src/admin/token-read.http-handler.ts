import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import type { Logger as PinoLogger } from 'pino';
import { sendRaw, sendRawFailure } from '../common/raw-response';
import { logCompleted, runLogged } from '../logging/raw-request-log';
import { REQUEST_ID_HEADER, requestIdOf } from '../logging/request-context';
import { TokenService, type AccessToken } from '../token/token.service';
import { AdminAuthenticator } from './admin-authenticator';
import { secondsLeft, tokenResponse } from './token-response';

const PREFIX = '/api/v1/accounts/';
const SUFFIX = '/token';
const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

/** The JSON last answered for an account, reused while the token and its `expires_in` are the same. */
interface AnsweredBody {
  token: AccessToken;
  expiresIn: number;
  text: string;
  bytes: number;
}

/**
 * `GET /api/v1/accounts/:appId/token` — the hot path of every client — answered straight from Node's HTTP server,
 * ahead of Fastify and Nest (createApp installs it, like the callback plane's handler). It does what the
 * controller route does: the admin key check (allow-list with the client address as Fastify computes it under
 * TRUST_PROXY, failed-auth limit, key), the token from TokenService, errors mapped as the exception filter maps
 * them (`errorAnswer`); requests are logged like all others. The controller keeps the route for the documentation
 * and for apps without this handler; anything else (another method, a query-less variant it does not recognise)
 * goes to the framework.
 *
 * Two ways through. The common case — a key this instance has already verified, the token in the in-process copy —
 * is answered synchronously, within the call from the HTTP server: no promise, no async logging context (each
 * costs per request once AsyncLocalStorage is in use, several times the work of the answer itself), the JSON reused
 * while the token and its `expires_in` stay the same. Everything else — a key not seen yet, any refusal, a token
 * that must be read from the store or refreshed — takes the full way: authenticate() with its failure counts,
 * getToken, the logging context, the error answers.
 */
@Injectable()
export class TokenReadHttpHandler {
  private readonly logger = new Logger(TokenReadHttpHandler.name);
  private clientIp: (request: IncomingMessage) => string = (request) => request.socket.remoteAddress ?? '';
  private requestLog: PinoLogger | undefined;
  private closing = false;
  private readonly answered = new Map<string, AnsweredBody>();

  constructor(
    private readonly authenticator: AdminAuthenticator,
    private readonly tokens: TokenService,
  ) {}

  /** The client address rule (TRUST_PROXY) and the request logger of the application. */
  configure(clientIp: (request: IncomingMessage) => string, logger: PinoLogger | undefined): void {
    this.clientIp = clientIp;
    this.requestLog = logger;
  }

  /** From now on requests go to the framework, which refuses new work while it closes. */
  close(): void {
    this.closing = true;
  }

  tryHandle(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.closing || request.method !== 'GET') return false;
    const url = request.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (!path.endsWith(SUFFIX)) return false;
    const appId = path.slice(PREFIX.length, -SUFFIX.length);
    if (!APP_ID.test(appId)) return false;
    if (this.answerAtOnce(request, response, appId)) return true;
    const handle = (): void => void this.answer(request, response, appId);
    if (this.requestLog === undefined) handle();
    else runLogged(this.requestLog, request, response, appId, handle);
    return true;
  }

  /** The common case, answered synchronously (see the class); false = nothing done, take the full way. */
  private answerAtOnce(request: IncomingMessage, response: ServerResponse, appId: string): boolean {
    const started = performance.now();
    if (this.authenticator.recognise(this.clientIp(request), request.headers.authorization) === undefined) {
      return false;
    }
    const token = this.tokens.cachedToken(appId);
    if (token === undefined) {
      this.answered.delete(appId);
      return false;
    }
    const body = this.bodyFor(appId, token);
    const reqId = requestIdOf(request);
    response.writeHead(200, {
      'content-type': JSON_TYPE,
      'content-length': body.bytes,
      [REQUEST_ID_HEADER]: reqId,
    });
    response.end(body.text);
    if (this.requestLog !== undefined) logCompleted(this.requestLog, request, 200, started, reqId, appId);
    return true;
  }

  private bodyFor(appId: string, token: AccessToken): AnsweredBody {
    const expiresIn = secondsLeft(token);
    const last = this.answered.get(appId);
    if (last !== undefined && last.token === token && last.expiresIn === expiresIn) return last;
    const text = JSON.stringify(tokenResponse(token, expiresIn));
    const body = { token, expiresIn, text, bytes: Buffer.byteLength(text) };
    this.answered.set(appId, body);
    return body;
  }

  private async answer(request: IncomingMessage, response: ServerResponse, appId: string): Promise<void> {
    try {
      this.authenticator.authenticate(this.clientIp(request), request.headers.authorization);
      const token = await this.tokens.getToken(appId);
      sendRaw(response, 200, JSON_TYPE, JSON.stringify(tokenResponse(token)));
    } catch (error) {
      sendRawFailure(response, error, this.logger);
    }
  }
}
