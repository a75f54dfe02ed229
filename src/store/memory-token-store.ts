import { EventEmitter } from 'node:events';
import {
  FORCE_COUNTER,
  type CredentialChange,
  type CredentialKindId,
  type CredentialRecord,
  type ForceReservation,
  type TokenStore,
} from './token-store';

/** The embedded store: correct for a single instance only (nothing is shared between processes). */
export class MemoryTokenStore implements TokenStore {
  readonly description = 'embedded in-memory store (single instance only)';
  protected readonly records = new Map<string, CredentialRecord>();
  private readonly locks = new Map<string, { owner: string; until: number }>();
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly lastForce = new Map<string, number>();
  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly now: () => number = Date.now) {}

  async get(appId: string, kind: CredentialKindId): Promise<CredentialRecord | null> {
    const record = this.records.get(`${appId}:${kind}`);
    return record ? { ...record } : null;
  }

  async compareAndSet(
    appId: string,
    kind: CredentialKindId,
    record: CredentialRecord,
    expectedVersion: number,
  ): Promise<{ stored: boolean; current: CredentialRecord | null }> {
    const key = `${appId}:${kind}`;
    const current = this.records.get(key);
    if ((current?.version ?? 0) !== expectedVersion)
      return { stored: false, current: current ? { ...current } : null };
    this.records.set(key, { ...record });
    const change: CredentialChange = { appId, kind, version: record.version };
    setImmediate(() => this.events.emit('change', change));
    return { stored: true, current: { ...record } };
  }

  async tryLock(appId: string, name: string, owner: string, ttlMs: number): Promise<boolean> {
    const key = `${appId}:${name}`;
    const held = this.locks.get(key);
    if (held && held.until > this.now()) return false;
    this.locks.set(key, { owner, until: this.now() + ttlMs });
    return true;
  }

  async releaseLock(appId: string, name: string, owner: string): Promise<boolean> {
    const key = `${appId}:${name}`;
    const held = this.locks.get(key);
    if (!held || held.owner !== owner) return false;
    this.locks.delete(key);
    return held.until > this.now();
  }

  async extendLock(appId: string, name: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.locks.get(`${appId}:${name}`);
    if (!held || held.owner !== owner || held.until <= this.now()) return false;
    held.until = this.now() + ttlMs;
    return true;
  }

  onChange(listener: (change: CredentialChange) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  private dayCounters(appId: string, day: string): Map<string, number> {
    const key = `${appId}:${day}`;
    let map = this.counters.get(key);
    if (!map) {
      map = new Map();
      this.counters.set(key, map);
    }
    return map;
  }

  async incrementCounter(appId: string, day: string, field: string, by = 1): Promise<number> {
    const map = this.dayCounters(appId, day);
    const value = (map.get(field) ?? 0) + by;
    map.set(field, value);
    return value;
  }

  async getCounters(appId: string, day: string): Promise<Record<string, number>> {
    return Object.fromEntries(this.counters.get(`${appId}:${day}`) ?? []);
  }

  async reserveForce(
    appId: string,
    day: string,
    nowMs: number,
    dailyBudget: number,
    minIntervalMs: number,
  ): Promise<ForceReservation> {
    const map = this.dayCounters(appId, day);
    const used = map.get(FORCE_COUNTER) ?? 0;
    if (used >= dailyBudget) return { granted: false, reason: 'budget', used, retryAfterMs: 0 };
    const last = this.lastForce.get(appId);
    if (last !== undefined && nowMs - last < minIntervalMs) {
      return { granted: false, reason: 'spacing', used, retryAfterMs: minIntervalMs - (nowMs - last) };
    }
    map.set(FORCE_COUNTER, used + 1);
    this.lastForce.set(appId, nowMs);
    return { granted: true, used: used + 1 };
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}
