/** Where a push stands in de-duplication. */
export type DedupeState =
  { state: 'claimed' } | { state: 'processing' } | { state: 'done'; response: string };

/**
 * Remembers which pushes are being or have been handled, so WeChat's retries (up to 4 deliveries, on any
 * instance) run the handler once and all get the same response.
 */
export interface CallbackDedupeStore {
  /** Claims `id` for `owner` (state `claimed`), or reports that someone else is processing / has finished it. */
  claim(appId: string, id: string, owner: string, processingTtlMs: number): Promise<DedupeState>;
  peek(appId: string, id: string): Promise<DedupeState | null>;
  /** Keeps a claim alive while a handler runs. */
  extend(appId: string, id: string, owner: string, processingTtlMs: number): Promise<void>;
  /** Records the final response for retries. */
  complete(appId: string, id: string, response: string, ttlMs: number): Promise<void>;
  /** Gives a claim up so that a retry runs the handler again (the handler failed). */
  release(appId: string, id: string, owner: string): Promise<void>;
}

export const CallbackDedupeStore = Symbol('CallbackDedupeStore');

export const PROCESSING = 'p:';
export const DONE = 'd:';

export function decodeState(raw: string | null | undefined): DedupeState | null {
  if (raw === null || raw === undefined) return null;
  if (raw.startsWith(DONE)) return { state: 'done', response: raw.slice(DONE.length) };
  return { state: 'processing' };
}
