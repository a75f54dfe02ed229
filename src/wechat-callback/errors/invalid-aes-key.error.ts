import { DomainError } from '../../common/domain-error';

/**
 * The EncodingAESKey is not 43 characters from [A-Za-z0-9] decoding to a 32-byte AES key
 * (the official sample's -40004). Carries only the length of the rejected value, never the value.
 */
export class InvalidAesKeyError extends DomainError {
  readonly httpStatus = 400;

  constructor(readonly keyLength: number) {
    super(
      `the EncodingAESKey must be 43 letters or digits decoding to 32 bytes (got ${keyLength} characters)`,
    );
    this.name = 'InvalidAesKeyError';
  }
}
