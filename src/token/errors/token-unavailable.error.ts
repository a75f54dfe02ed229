import { DomainError } from '../../common/domain-error';

/** No live access_token can be handed out right now (upstream failing, store down, wait timed out). */
export class TokenUnavailableError extends DomainError {
  readonly httpStatus = 503;

  constructor(
    readonly appId: string,
    readonly reason: string,
    readonly errcode?: number,
    readonly retryAfterMs?: number,
  ) {
    super(`no access_token available for ${appId}: ${reason}`);
    this.name = 'TokenUnavailableError';
  }
}
