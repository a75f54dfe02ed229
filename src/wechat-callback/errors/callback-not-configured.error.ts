/** The account exists but has no callback token configured. */
export class CallbackNotConfiguredError extends Error {
  constructor(readonly appId: string) {
    super(`account ${appId} has no callback token configured`);
    this.name = 'CallbackNotConfiguredError';
  }
}
