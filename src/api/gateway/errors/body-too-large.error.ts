/** A request body is larger than the gateway accepts (413). */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the request body exceeds ${limitBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}
