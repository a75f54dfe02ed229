/** The appId is not one of the configured accounts. */
export class AccountNotFoundError extends Error {
  constructor(readonly appId: string) {
    super(`account ${appId} is not configured`);
    this.name = 'AccountNotFoundError';
  }
}
