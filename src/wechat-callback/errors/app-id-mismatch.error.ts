/** A message decrypted cleanly but its AppID trailer names another account (the official sample's -40005). */
export class AppIdMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly found: string,
  ) {
    super('the message was encrypted for another AppID');
    this.name = 'AppIdMismatchError';
  }
}
