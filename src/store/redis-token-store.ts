import { Logger } from '@nestjs/common';
import { COMPARE_AND_SET, EXTEND_LOCK, RELEASE_LOCK, RESERVE_FORCE } from './redis-scripts';
import {
  FORCE_COUNTER,
  type CredentialChange,
  type CredentialKindId,
  type CredentialRecord,
  type ForceReservation,
  type TokenStore,
} from './token-store';
import { isCluster, type RedisClient } from './redis.constants';

type Client = RedisClient;

interface ScriptedClient {
  wxhubCas(
    key: string,
    expected: number,
    record: string,
    channel: string,
    message: string,
  ): Promise<[number, string]>;
  wxhubRelease(key: string, owner: string): Promise<number>;
  wxhubExtend(key: string, owner: string, ttlMs: number): Promise<number>;
  wxhubReserveForce(
    counters: string,
    last: string,
    field: string,
    now: number,
    budget: number,
    minIntervalMs: number,
    ttlSeconds: number,
  ): Promise<[number, number, string, number]>;
}

const COUNTERS_TTL_SECONDS = 3 * 86400;

/**
 * The shared store, on one Redis, a Sentinel-managed master or a Redis Cluster. Keys: `<prefix>:{<appId>}:<what>`
 * (`token`, `jsapi_ticket`, `wx_card_ticket`, `lock:<name>`, `counters:<day>`, `force:last`) — the `{appId}` hash
 * tag keeps an account's keys in one Cluster slot, so every script and MULTI touches a single slot and every key
 * a script touches is passed in KEYS. The only name without a tag is the change channel `<prefix>:changes`, which
 * is not a key: classic PUBLISH reaches every node of a cluster.
 */
export class RedisTokenStore implements TokenStore {
  readonly description: string;
  private readonly logger = new Logger(RedisTokenStore.name);
  private readonly listeners = new Set<(change: CredentialChange) => void>();
  private readonly channel: string;
  private subscriber: Client | undefined;

  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    description = 'redis',
  ) {
    this.description = description;
    this.channel = `${prefix}:changes`;
    client.defineCommand('wxhubCas', { numberOfKeys: 1, lua: COMPARE_AND_SET });
    client.defineCommand('wxhubRelease', { numberOfKeys: 1, lua: RELEASE_LOCK });
    client.defineCommand('wxhubExtend', { numberOfKeys: 1, lua: EXTEND_LOCK });
    client.defineCommand('wxhubReserveForce', { numberOfKeys: 2, lua: RESERVE_FORCE });
  }

  private get scripts(): ScriptedClient {
    return this.client as unknown as ScriptedClient;
  }

  private key(appId: string, what: string): string {
    return `${this.prefix}:{${appId}}:${what}`;
  }

  async get(appId: string, kind: CredentialKindId): Promise<CredentialRecord | null> {
    const raw = await this.client.get(this.key(appId, kind));
    return raw ? (JSON.parse(raw) as CredentialRecord) : null;
  }

  async compareAndSet(
    appId: string,
    kind: CredentialKindId,
    record: CredentialRecord,
    expectedVersion: number,
  ): Promise<{ stored: boolean; current: CredentialRecord | null }> {
    const change: CredentialChange = { appId, kind, version: record.version };
    const [stored, current] = await this.scripts.wxhubCas(
      this.key(appId, kind),
      expectedVersion,
      JSON.stringify(record),
      this.channel,
      JSON.stringify(change),
    );
    return { stored: stored === 1, current: current ? (JSON.parse(current) as CredentialRecord) : null };
  }

  async tryLock(appId: string, name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(this.key(appId, `lock:${name}`), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async releaseLock(appId: string, name: string, owner: string): Promise<boolean> {
    return (await this.scripts.wxhubRelease(this.key(appId, `lock:${name}`), owner)) === 1;
  }

  async extendLock(appId: string, name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.scripts.wxhubExtend(this.key(appId, `lock:${name}`), owner, ttlMs)) === 1;
  }

  onChange(listener: (change: CredentialChange) => void): () => void {
    this.listeners.add(listener);
    this.ensureSubscribed();
    return () => this.listeners.delete(listener);
  }

  private ensureSubscribed(): void {
    if (this.subscriber) return;
    // NOTE: a cluster client refuses commands while it has no slot map (offline queue off); the subscriber
    // queues its SUBSCRIBE until it is ready instead, and re-subscribes on any node it moves to
    const subscriber = isCluster(this.client)
      ? this.client.duplicate([], { enableOfflineQueue: true })
      : this.client.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => this.logger.warn(`change subscription: ${error.message}`));
    subscriber.on('message', (_channel: string, message: string) => {
      let change: CredentialChange;
      try {
        change = JSON.parse(message) as CredentialChange;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(change);
    });
    subscriber.subscribe(this.channel).catch((error: Error) => {
      this.logger.warn(
        `cannot subscribe to ${this.channel} yet (${error.message}); readers fall back to polling`,
      );
    });
  }

  async incrementCounter(appId: string, day: string, field: string, by = 1): Promise<number> {
    const key = this.key(appId, `counters:${day}`);
    const [[, value]] = (await this.client
      .multi()
      .hincrby(key, field, by)
      .expire(key, COUNTERS_TTL_SECONDS)
      .exec()) as [[Error | null, number]];
    return value;
  }

  async getCounters(appId: string, day: string): Promise<Record<string, number>> {
    const raw = await this.client.hgetall(this.key(appId, `counters:${day}`));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  async reserveForce(
    appId: string,
    day: string,
    nowMs: number,
    dailyBudget: number,
    minIntervalMs: number,
  ): Promise<ForceReservation> {
    const [granted, used, reason, retryAfterMs] = await this.scripts.wxhubReserveForce(
      this.key(appId, `counters:${day}`),
      this.key(appId, 'force:last'),
      FORCE_COUNTER,
      nowMs,
      dailyBudget,
      Math.max(0, Math.ceil(minIntervalMs)),
      COUNTERS_TTL_SECONDS,
    );
    if (granted === 1) return { granted: true, used };
    return { granted: false, reason: reason === 'budget' ? 'budget' : 'spacing', used, retryAfterMs };
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async ping(): Promise<void> {
    if (isCluster(this.client)) {
      const masters = this.client.nodes('master');
      if (masters.length === 0) throw new Error('no Redis Cluster master is known');
      await Promise.all(masters.map((node) => node.ping()));
    } else {
      await this.client.ping();
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) subscriber.disconnect();
  }
}
