import {
  decodeState,
  DONE,
  PROCESSING,
  type CallbackDedupeStore,
  type DedupeState,
} from './callback-dedupe-store';

const MAX_ENTRIES = 100_000;

/** De-duplication within one instance (the embedded store). */
export class MemoryCallbackDedupeStore implements CallbackDedupeStore {
  private readonly entries = new Map<string, { value: string; until: number }>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  private read(key: string): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.until <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  private write(key: string, value: string, ttlMs: number): void {
    // a Map iterates in insertion order, which is close to expiry order (every push gets a similar TTL): drop
    // expired entries, and the oldest when full, from the front — O(1) per write, never a scan of the store
    const now = Date.now();
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size < this.maxEntries && entry.until > now) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until: now + ttlMs });
  }

  async claim(appId: string, id: string, owner: string, processingTtlMs: number): Promise<DedupeState> {
    const key = `${appId}:${id}`;
    const existing = this.read(key);
    if (existing !== null) return decodeState(existing) as DedupeState;
    this.write(key, PROCESSING + owner, processingTtlMs);
    return { state: 'claimed' };
  }

  async peek(appId: string, id: string): Promise<DedupeState | null> {
    return decodeState(this.read(`${appId}:${id}`));
  }

  async extend(appId: string, id: string, owner: string, processingTtlMs: number): Promise<void> {
    const key = `${appId}:${id}`;
    if (this.read(key) === PROCESSING + owner) this.write(key, PROCESSING + owner, processingTtlMs);
  }

  async complete(appId: string, id: string, response: string, ttlMs: number): Promise<void> {
    this.write(`${appId}:${id}`, DONE + response, ttlMs);
  }

  async release(appId: string, id: string, owner: string): Promise<void> {
    const key = `${appId}:${id}`;
    if (this.read(key) === PROCESSING + owner) this.entries.delete(key);
  }
}
