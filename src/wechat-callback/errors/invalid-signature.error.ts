import { DomainError } from '../../common/domain-error';

/**
 * A callback's `signature` (plain SHA-1 over token, timestamp, nonce) or `msg_signature` (which also covers
 * the `Encrypt` value) does not match.
 */
export class InvalidSignatureError extends DomainError {
  readonly httpStatus = 401;

  constructor(readonly kind: 'signature' | 'msg_signature') {
    super(`the ${kind} query parameter does not match`);
    this.name = 'InvalidSignatureError';
  }
}
