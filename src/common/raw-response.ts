import type { ServerResponse } from 'node:http';
import type { Logger } from '@nestjs/common';
import { errorAnswer, errorBody } from './http-status';

/** Answers a request handled ahead of the framework, once (a second answer is ignored). */
export function sendRaw(response: ServerResponse, status: number, contentType: string, body: string): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** `{statusCode, error, message}` as the exception filter answers it, with Retry-After where it helps. */
export function sendRawError(
  response: ServerResponse,
  status: number,
  message: string,
  retryAfterMs?: number,
): void {
  if (retryAfterMs && retryAfterMs > 0 && !response.headersSent) {
    response.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  }
  sendRaw(response, status, 'application/json; charset=utf-8', JSON.stringify(errorBody(status, message)));
}

/**
 * Answers a request handled ahead of the framework that failed: a known error as the exception filter maps it
 * (`errorAnswer`), anything else logged with its stack and answered 500 without details.
 */
export function sendRawFailure(response: ServerResponse, error: unknown, logger: Logger): void {
  const answer = errorAnswer(error);
  if (answer) {
    sendRawError(response, answer.status, answer.message, answer.retryAfterMs);
    return;
  }
  logger.error(`unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  sendRawError(response, 500, 'internal error');
}
