import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorAnswer, sendWechatErrorAnswer } from './error-reply';
import { errorAnswer, wechatErrorAnswer } from './http-status';

/**
 * The HTTP edge of the domain errors: `{statusCode, error, message}`, with Retry-After where it helps; WeChat's
 * `{errcode, errmsg}` on `/cgi-bin/*`, where SDKs call. Both through the one mapping in http-status.ts.
 */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const answer = errorAnswer(exception);
    if (!answer) this.logger.error(`unexpected error: ${(exception as Error)?.stack ?? String(exception)}`);
    if (request.url.startsWith('/cgi-bin/')) {
      sendWechatErrorAnswer(reply, wechatErrorAnswer(exception));
      return;
    }
    sendErrorAnswer(reply, answer ?? { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error' });
  }
}
