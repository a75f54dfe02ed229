import { DomainError } from '../../common/domain-error';

export type DecryptFailure = 'base64' | 'length' | 'padding' | 'encoding';

const MESSAGES: Readonly<Record<DecryptFailure, string>> = {
  base64: 'the Encrypt value is not valid base64',
  length: 'the decrypted message has an impossible length',
  padding: 'the decrypted message has invalid PKCS#7 padding',
  encoding: 'the decrypted message is not valid UTF-8',
};

/**
 * An `Encrypt` value could not be opened with the account's EncodingAESKey. The reason is for logs and
 * metrics only: exposing it to the sender would hand out a padding oracle.
 */
export class DecryptError extends DomainError {
  readonly httpStatus = 400;

  constructor(readonly reason: DecryptFailure) {
    super(MESSAGES[reason]);
    this.name = 'DecryptError';
  }
}
