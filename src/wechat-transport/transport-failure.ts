import { errors as undiciErrors } from 'undici';

/** How a call to WeChat failed without an answer. */
export type TransportFailureKind = 'timeout' | 'network';

/**
 * A call to WeChat failed without an answer. The message is safe to log and return: it never quotes the request
 * URL (which carries an access_token, and on the legacy token endpoint the AppSecret) nor undici's own message.
 */
export class WechatTransportError extends Error {
  constructor(
    readonly kind: TransportFailureKind,
    message: string,
    /** The system error code (`ECONNREFUSED`, `UND_ERR_SOCKET`…), when there is one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'WechatTransportError';
  }
}

/**
 * The safe form of anything a request or a body read threw: a timeout (undici's connect/headers/body timers, an
 * `AbortSignal.timeout`) or a network failure named by its code only. A `WechatTransportError` passes as it is.
 */
export function toTransportError(error: unknown, timeoutMs: number): WechatTransportError {
  if (error instanceof WechatTransportError) return error;
  const name = (error as Error | undefined)?.name;
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  ) {
    return new WechatTransportError('timeout', `WeChat did not answer within ${timeoutMs} ms`);
  }
  const raw = (error as { code?: unknown } | undefined)?.code;
  // a code is an identifier; anything else might be text quoting the request
  const code = typeof raw === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(raw) ? raw : undefined;
  return new WechatTransportError('network', `cannot reach WeChat${code ? ` (${code})` : ''}`, code);
}

/** `text` with every secret (and its URL-encoded form) replaced by `***`; secrets under 6 characters are left. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length < 6) continue;
    result = result.split(secret).join('***').split(encodeURIComponent(secret)).join('***');
  }
  return result;
}
