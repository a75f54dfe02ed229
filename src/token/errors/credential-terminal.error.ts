import { TokenUnavailableError } from './token-unavailable.error';

/**
 * A credential is in a state no retry can fix (`needs-reauthorization` after WeChat refused an authorizer's refresh
 * token with 61023): no further fetch is made until someone acts.
 */
export class CredentialTerminalError extends TokenUnavailableError {
  constructor(
    appId: string,
    reason: string,
    readonly state: string,
    errcode?: number,
  ) {
    super(appId, `${reason} (${state})`, errcode);
    this.name = 'CredentialTerminalError';
  }
}
