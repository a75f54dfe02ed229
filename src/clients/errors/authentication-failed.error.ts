import { DomainError } from '../../common/domain-error';

/**
 * A bearer key was refused: 401 (no key, or nobody's key) or 429 (too many wrong keys from this address on this
 * surface, with the time to wait sent as Retry-After). The message never contains the presented key.
 */
export class AuthenticationFailedError extends DomainError {
  readonly retryAfterMs?: number;

  constructor(
    readonly httpStatus: 401 | 429,
    message: string,
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AuthenticationFailedError';
    if (retryAfterSeconds !== undefined) this.retryAfterMs = retryAfterSeconds * 1000;
  }
}
