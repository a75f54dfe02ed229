import { HttpException, HttpStatus } from '@nestjs/common';
import { ForceRefreshRefusedError } from '../token/errors/force-refresh-refused.error';
import { TokenUnavailableError } from '../token/errors/token-unavailable.error';
import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import { AppIdMismatchError } from '../wechat-callback/errors/app-id-mismatch.error';
import { CallbackNotConfiguredError } from '../wechat-callback/errors/callback-not-configured.error';
import { DecryptError } from '../wechat-callback/errors/decrypt.error';
import { InvalidAesKeyError } from '../wechat-callback/errors/invalid-aes-key.error';
import { InvalidSignatureError } from '../wechat-callback/errors/invalid-signature.error';
import { MalformedXmlError } from '../wechat-callback/errors/malformed-xml.error';
import { CallbackModeError } from '../wechat-callback/errors/plaintext-refused.error';
import { StaleTimestampError } from '../wechat-callback/errors/stale-timestamp.error';

/** The `error` field of `{statusCode, error, message}`. */
export const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The status of a refused push: 401 for anything that fails authentication, 400 for anything malformed, 404 when
 * the account is unknown or has no callback settings; undefined for anything else (a fault).
 */
export function callbackErrorStatus(exception: unknown): number | undefined {
  if (exception instanceof InvalidSignatureError || exception instanceof StaleTimestampError)
    return HttpStatus.UNAUTHORIZED;
  if (exception instanceof CallbackNotConfiguredError || exception instanceof AccountNotFoundError)
    return HttpStatus.NOT_FOUND;
  if (
    exception instanceof MalformedXmlError ||
    exception instanceof CallbackModeError ||
    exception instanceof DecryptError ||
    exception instanceof AppIdMismatchError ||
    exception instanceof InvalidAesKeyError
  ) {
    return HttpStatus.BAD_REQUEST;
  }
  return undefined;
}

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
 * The answer to an error on our routes (`{statusCode, error, message}`), the one mapping of domain errors to HTTP
 * for the exception filter and the routes answered ahead of the framework; undefined for an unexpected error (a
 * fault: log it and answer 500).
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
  const callbackStatus = callbackErrorStatus(exception);
  if (callbackStatus) return { status: callbackStatus, message: (exception as Error).message };
  if (exception instanceof ForceRefreshRefusedError) {
    return {
      status: HttpStatus.TOO_MANY_REQUESTS,
      message: exception.message,
      retryAfterMs: exception.retryAfterMs,
    };
  }
  if (exception instanceof TokenUnavailableError) {
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: exception.message,
      retryAfterMs: exception.retryAfterMs,
    };
  }
  const status = (exception as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, message: (exception as Error).message };
  }
  return undefined;
}
