/** A plaintext push reached an account in safe mode, or an encrypted one reached an account without a key. */
export class CallbackModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackModeError';
  }
}
