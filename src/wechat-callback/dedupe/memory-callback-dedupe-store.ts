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
  private readonly entries = new Map<string, { value: string; until: number; seq: number }>();
  /**
   * Keys in the order they were first written, for eviction from the oldest.
   * NOTE: not the Map's own iteration order: a Map keeps deleted slots until it rehashes, so walking it from the
   * front after many deletions skips ever more holes (the cost per push grew ~50× past 150,000 pushes).
   */
  private readonly order: { key: string; seq: number }[] = [];
  private head = 0;
  private seq = 0;

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
    // insertion order is close to expiry order (every push gets a similar TTL): drop expired entries, and the
    // oldest when full, from the front — O(1) amortized per write
    const now = Date.now();
    while (this.head < this.order.length) {
      const oldest = this.order[this.head]!;
      const entry = this.entries.get(oldest.key);
      // a key deleted and written again since has a later place in the order: this one is stale
      if (entry !== undefined && entry.seq === oldest.seq) {
        if (this.entries.size < this.maxEntries && entry.until > now) break;
        this.entries.delete(oldest.key);
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    const existing = this.entries.get(key);
    if (existing !== undefined) {
      existing.value = value;
      existing.until = now + ttlMs;
      return;
    }
    const seq = ++this.seq;
    this.order.push({ key, seq });
    this.entries.set(key, { value, until: now + ttlMs, seq });
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
