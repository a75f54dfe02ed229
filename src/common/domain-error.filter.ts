import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendAnswerToError, sendWechatErrorAnswer } from './error-reply';
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
    if (request.url.startsWith('/cgi-bin/')) {
      if (!errorAnswer(exception))
        this.logger.error(`unexpected error: ${(exception as Error)?.stack ?? String(exception)}`);
      sendWechatErrorAnswer(reply, wechatErrorAnswer(exception));
      return;
    }
    sendAnswerToError(reply, exception, this.logger);
  }
}
