import type { Readable } from 'node:stream';
import { BodyTooLargeError } from './errors/body-too-large.error';

/** A request body held in memory (it can be sent twice) or one that streams through once. */
export type PreparedBody =
  | { kind: 'none' }
  | { kind: 'buffered'; bytes: Buffer }
  | { kind: 'streamed'; chunks: AsyncIterable<Buffer>; length: number | undefined };

export interface BodyLimits {
  /** Bodies up to this size are buffered. */
  replayBytes: number;
  /** Larger bodies are refused (BodyTooLargeError), also while they stream. */
  maxBytes: number;
}

/**
 * Reads at most `replayBytes` of `source` into memory. A body that ends within that is returned as bytes; a
 * larger one (declared by Content-Length or found while reading a chunked one) continues as a stream of what was
 * read plus the rest, still held to `maxBytes`. Never holds more than `replayBytes` (plus one chunk) in memory.
 */
export async function prepareBody(
  source: Readable | undefined,
  declaredLength: number | undefined,
  limits: BodyLimits,
): Promise<PreparedBody> {
  if (!source || declaredLength === 0) return { kind: 'none' };
  if (declaredLength !== undefined && declaredLength > limits.maxBytes)
    throw new BodyTooLargeError(limits.maxBytes);
  const iterator = (source[Symbol.asyncIterator] as () => AsyncIterator<Buffer>).call(source);
  const head: Buffer[] = [];
  let size = 0;
  if (declaredLength === undefined || declaredLength <= limits.replayBytes) {
    for (;;) {
      const next = await iterator.next();
      if (next.done)
        return size === 0 ? { kind: 'none' } : { kind: 'buffered', bytes: Buffer.concat(head, size) };
      size += next.value.length;
      if (size > limits.maxBytes) throw new BodyTooLargeError(limits.maxBytes);
      head.push(next.value);
      if (size > limits.replayBytes) break;
    }
  }
  return { kind: 'streamed', chunks: rest(head, iterator, size, limits.maxBytes), length: declaredLength };
}

async function* rest(
  head: Buffer[],
  iterator: AsyncIterator<Buffer>,
  initialSize: number,
  maxBytes: number,
): AsyncGenerator<Buffer> {
  let size = initialSize;
  // NOTE: shift, so that what was read ahead is released once sent
  for (let chunk = head.shift(); chunk; chunk = head.shift()) yield chunk;
  // NOTE: no iterator.return() when stopped early: it would destroy the request, and the client its answer
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    size += next.value.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    yield next.value;
  }
}

/**
 * Reads and discards what is left of a refused request body, so that the client, still sending, gets the
 * answer instead of a reset connection. Gives up after `ms` (the connection is then closed after the answer).
 */
export function discardBody(source: Readable, ms: number): Promise<void> {
  if (source.readableEnded || source.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    source.once('end', done).once('close', done).once('error', done);
    source.resume();
  });
}
