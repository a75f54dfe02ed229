import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import type { Logger as PinoLogger } from 'pino';
import { errorAnswer } from '../common/http-status';
import { sendRaw, sendRawError } from '../common/raw-response';
import { runLogged } from '../logging/raw-request-log';
import { TokenService } from '../token/token.service';
import { AdminAuthenticator } from './admin-authenticator';
import { tokenResponse } from './token-response';

const PREFIX = '/api/v1/accounts/';
const SUFFIX = '/token';
const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `GET /api/v1/accounts/:appId/token` — the hot path of every client — answered straight from Node's HTTP server,
 * ahead of Fastify and Nest (createApp installs it, like the callback plane's handler). It does what the
 * controller route does: the admin key check (allow-list with the client address as Fastify computes it under
 * TRUST_PROXY, failed-auth limit, key), the token from TokenService, errors mapped as the exception filter maps them (`errorAnswer`);
 * requests are logged like all others. The controller keeps the route for the documentation and for apps without
 * this handler; anything else (another method, a query-less variant it does not recognise) goes to the framework.
 */
@Injectable()
export class TokenReadHttpHandler {
  private readonly logger = new Logger(TokenReadHttpHandler.name);
  private clientIp: (request: IncomingMessage) => string = (request) => request.socket.remoteAddress ?? '';
  private requestLog: PinoLogger | undefined;
  private closing = false;

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
    const handle = (): void => void this.answer(request, response, appId);
    if (this.requestLog === undefined) handle();
    else runLogged(this.requestLog, request, response, appId, handle);
    return true;
  }

  private async answer(request: IncomingMessage, response: ServerResponse, appId: string): Promise<void> {
    try {
      this.authenticator.authenticate(this.clientIp(request), request.headers.authorization);
      const token = await this.tokens.getToken(appId);
      sendRaw(response, 200, 'application/json; charset=utf-8', JSON.stringify(tokenResponse(token)));
    } catch (error) {
      const answer = errorAnswer(error);
      if (answer) {
        sendRawError(response, answer.status, answer.message, answer.retryAfterMs);
        return;
      }
      this.logger.error(`unexpected error: ${(error as Error)?.stack ?? String(error)}`);
      sendRawError(response, 500, 'internal error');
    }
  }
}
