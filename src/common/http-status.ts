import { HttpStatus } from '@nestjs/common';
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
