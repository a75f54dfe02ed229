import { HttpStatus, type Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { errorAnswer, errorBody, type ErrorAnswer, type WechatErrorAnswer } from './http-status';

// NOTE: Fastify serialises an object as `application/json; charset=utf-8`

/** Sends `{statusCode, error, message}`, with Retry-After when a retry can succeed later. */
export function sendErrorAnswer(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  if (answer.retryAfterMs && answer.retryAfterMs > 0)
    void reply.header('retry-after', String(Math.ceil(answer.retryAfterMs / 1000)));
  return reply.status(answer.status).send(errorBody(answer.status, answer.message));
}

/** Sends WeChat's `{errcode, errmsg}`. */
export function sendWechatErrorAnswer(reply: FastifyReply, answer: WechatErrorAnswer): FastifyReply {
  return reply.status(answer.status).send({ errcode: answer.errcode, errmsg: answer.errmsg });
}

/**
 * Sends the JSON answer to any error (errorAnswer); one it does not know is logged with its stack on `logger` and
 * answered 500 `internal error`, never with its text.
 */
export function sendAnswerToError(reply: FastifyReply, error: unknown, logger: Logger): FastifyReply {
  const answer = errorAnswer(error);
  if (!answer) logger.error(`unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  return sendErrorAnswer(
    reply,
    answer ?? { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error' },
  );
}
