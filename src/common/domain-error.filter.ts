import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import { ForceRefreshRefusedError } from '../token/errors/force-refresh-refused.error';
import { TokenUnavailableError } from '../token/errors/token-unavailable.error';
import { callbackErrorStatus, errorBody } from './http-status';

/** The HTTP edge of the domain errors: `{statusCode, error, message}`, with Retry-After where it helps. */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    if (request.url.startsWith('/cgi-bin/')) {
      this.sendWechat(reply, exception);
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const message =
        typeof body === 'string'
          ? body
          : ((body as { message?: string | string[] }).message ?? exception.message);
      const text = Array.isArray(message) ? message.join('; ') : message;
      // Nest's "Cannot GET <url>" quotes the query, which may hold a secret or a token: never echo it
      this.send(reply, status, status === 404 ? text.replace(/^(Cannot \S+ [^?\s]*)\?\S*/, '$1') : text);
      return;
    }
    const callbackStatus = callbackErrorStatus(exception);
    if (callbackStatus) {
      this.send(reply, callbackStatus, (exception as Error).message);
      return;
    }
    if (exception instanceof AccountNotFoundError) {
      this.send(reply, HttpStatus.NOT_FOUND, exception.message);
      return;
    }
    if (exception instanceof ForceRefreshRefusedError) {
      this.send(reply, HttpStatus.TOO_MANY_REQUESTS, exception.message, exception.retryAfterMs);
      return;
    }
    if (exception instanceof TokenUnavailableError) {
      this.send(reply, HttpStatus.SERVICE_UNAVAILABLE, exception.message, exception.retryAfterMs);
      return;
    }
    const status = (exception as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      this.send(reply, status, (exception as Error).message);
      return;
    }
    this.logger.error(`unexpected error: ${(exception as Error)?.stack ?? String(exception)}`);
    this.send(reply, HttpStatus.INTERNAL_SERVER_ERROR, 'internal error');
  }

  /** WeChat-shaped errors for SDKs on `/cgi-bin/*`: malformed bodies are WeChat's 47001. */
  private sendWechat(reply: FastifyReply, exception: unknown): void {
    const status =
      exception instanceof HttpException
        ? exception.getStatus()
        : (exception as { statusCode?: number }).statusCode;
    if (status === 404) {
      void reply.status(404).send({ errcode: -1, errmsg: 'this path is not served by wxhub' });
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      void reply.status(200).send({ errcode: 47001, errmsg: 'data format error' });
      return;
    }
    this.logger.error(`unexpected error: ${(exception as Error)?.stack ?? String(exception)}`);
    void reply.status(200).send({ errcode: -1, errmsg: 'system error' });
  }

  private send(reply: FastifyReply, status: number, message: string, retryAfterMs?: number): void {
    if (retryAfterMs && retryAfterMs > 0)
      void reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    void reply.status(status).send(errorBody(status, message));
  }
}
