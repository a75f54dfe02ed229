import type { FastifyReply } from 'fastify';
import { errorBody, type ErrorAnswer, type WechatErrorAnswer } from './http-status';

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
