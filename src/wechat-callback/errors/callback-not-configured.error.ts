import { DomainError } from '../../common/domain-error';

/** The account exists but has no callback token configured. */
export class CallbackNotConfiguredError extends DomainError {
  readonly httpStatus = 404;

  constructor(readonly appId: string) {
    super(`account ${appId} has no callback token configured`);
    this.name = 'CallbackNotConfiguredError';
  }
}
