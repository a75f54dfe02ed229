import { DomainError } from '../../common/domain-error';

/** A plaintext push reached an account in safe mode, or an encrypted one reached an account without a key. */
export class CallbackModeError extends DomainError {
  readonly httpStatus = 400;

  constructor(message: string) {
    super(message);
    this.name = 'CallbackModeError';
  }
}
