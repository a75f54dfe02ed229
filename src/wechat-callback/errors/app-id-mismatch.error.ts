import { DomainError } from '../../common/domain-error';

/** A message decrypted cleanly but its AppID trailer names another account (the official sample's -40005). */
export class AppIdMismatchError extends DomainError {
  readonly httpStatus = 400;

  constructor(
    readonly expected: string,
    readonly found: string,
  ) {
    super('the message was encrypted for another AppID');
    this.name = 'AppIdMismatchError';
  }
}
