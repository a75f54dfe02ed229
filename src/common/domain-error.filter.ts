import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorAnswer, errorBody } from './http-status';

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
    const answer = errorAnswer(exception);
    if (answer) {
      this.send(reply, answer.status, answer.message, answer.retryAfterMs);
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
