import { HttpException } from '@nestjs/common';
import { DomainError, type WechatErrorAnswer } from './domain-error';

export type { WechatErrorAnswer } from './domain-error';

/** The `error` field of `{statusCode, error, message}`. */
export const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** `{statusCode, error, message}` as our routes answer errors. */
export function errorBody(
  status: number,
  message: string,
): { statusCode: number; error: string; message: string } {
  return { statusCode: status, error: STATUS_NAMES[status] ?? 'Error', message };
}

/** How an error is answered on our routes: status, message, and when a retry can succeed. */
export interface ErrorAnswer {
  status: number;
  message: string;
  retryAfterMs?: number;
}

/**
 * The answer to an error on our routes (`{statusCode, error, message}`): the one mapping of errors to HTTP, used
 * by the exception filter and the gateway. A {@link DomainError}
 * says its own status; a framework error (HttpException, or one with a 4xx `statusCode`) keeps its own.
 * Undefined for an unexpected error (a fault: log it and answer 500).
 */
export function errorAnswer(exception: unknown): ErrorAnswer | undefined {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    const message =
      typeof body === 'string'
        ? body
        : ((body as { message?: string | string[] }).message ?? exception.message);
    const text = Array.isArray(message) ? message.join('; ') : message;
    // Nest's "Cannot GET <url>" quotes the query, which may hold a secret or a token: never echo it
    return { status, message: status === 404 ? text.replace(/^(Cannot \S+ [^?\s]*)\?\S*/, '$1') : text };
  }
  if (exception instanceof DomainError) {
    const retryAfterMs = (exception as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      status: exception.httpStatus,
      message: exception.message,
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
    };
  }
  const status = (exception as { statusCode?: number } | null | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, message: (exception as Error).message };
  }
  return undefined;
}

/**
 * The answer to an error on routes that speak WeChat's protocol (the `/cgi-bin/*` drop-ins and pass-through):
 * the error's own `{errcode, errmsg}` when it has one; else 404 → `-1 this path is not served by wxhub` (404),
 * another 4xx → `47001 data format error`, anything else → `-1 system error` (HTTP 200, as WeChat).
 */
export function wechatErrorAnswer(exception: unknown): WechatErrorAnswer {
  const own = exception instanceof DomainError ? exception.wechatAnswer : undefined;
  if (own) return own;
  const status = errorAnswer(exception)?.status;
  if (status === 404) return { status: 404, errcode: -1, errmsg: 'this path is not served by wxhub' };
  if (status !== undefined && status >= 400 && status < 500)
    return { status: 200, errcode: 47001, errmsg: 'data format error' };
  return { status: 200, errcode: -1, errmsg: 'system error' };
}
