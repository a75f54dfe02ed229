import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis, RedisOptions } from 'ioredis';
import { MemoryTokenStore } from '../src/store/memory-token-store';
import { RedisTokenStore } from '../src/store/redis-token-store';
import type { CredentialChange, CredentialRecord, TokenStore } from '../src/store/token-store';
import { type RedisServerHandle, startRedis } from './support/redis-server';

const APP = 'wx1234567890abcdef';
const OTHER_APP = 'wxfedcba0987654321';
const DAY = '20250101';

function record(version: number, overrides: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    value: `ACCESS_TOKEN-v${version}-汉字-"quoted"`,
    version,
    fetchedAt: 1_735_660_800_000 + version,
    expiresAt: 1_735_668_000_000 + version,
    endpoint: 'stable',
    source: 'schedule',
    ...overrides,
  };
}

/** Resolves with the first change `store` delivers, or rejects after `timeoutMs`. */
function nextChange(store: TokenStore, timeoutMs = 2_000): Promise<{ change: CredentialChange; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no change notification within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = store.onChange((change) => {
      clearTimeout(timer);
      unsubscribe();
      resolve({ change, at: performance.now() });
    });
  });
}

/** Where the contract runs: one implementation and what it takes to open stores on it. */
interface Backend {
  /**
   * A store in `namespace`. Stores opened on the same namespace share state as two processes of one fleet
   * would (for Redis: separate connections, same key prefix); different namespaces share nothing.
   */
  open(namespace: string, options?: RedisOptions): TokenStore;
  /** Resolves once `count` stores of `namespace` are subscribed to its change notifications. */
  subscribed(namespace: string, count: number): Promise<void>;
  /** Closes every store (and connection) opened since the last call. */
  closeAll(): Promise<void>;
  stop(): Promise<void>;
}

interface BackendFactory {
  name: string;
  start(): Promise<Backend>;
}

const memoryBackend: BackendFactory = {
  name: 'MemoryTokenStore',
  async start() {
    // The embedded store is single-instance by design, so "another process" is the same instance.
    const stores = new Map<string, MemoryTokenStore>();
    return {
      open(namespace) {
        let store = stores.get(namespace);
        if (!store) {
          store = new MemoryTokenStore();
          stores.set(namespace, store);
        }
        return store;
      },
      async subscribed() {},
      async closeAll() {
        await Promise.all([...stores.values()].map((store) => store.close()));
        stores.clear();
      },
      async stop() {},
    };
  },
};

/** A RedisTokenStore per connection, as one per process, on a real redis-server. */
class RedisBackend implements Backend {
  private readonly opened: { store: RedisTokenStore; client: Redis }[] = [];
  readonly admin: Redis;

  constructor(readonly server: RedisServerHandle) {
    this.admin = server.client();
  }

  open(namespace: string, options: RedisOptions = {}): RedisTokenStore {
    const client = this.server.client(options);
    const store = new RedisTokenStore(client, namespace);
    this.opened.push({ store, client });
    return store;
  }

  async subscribed(namespace: string, count: number): Promise<void> {
    const channel = `${namespace}:changes`;
    const deadline = Date.now() + 2_000;
    for (;;) {
      const [, subscribers] = (await this.admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      if (subscribers >= count) return;
      if (Date.now() > deadline)
        throw new Error(`${channel} has ${subscribers} subscribers, expected ${count}`);
      await sleep(10);
    }
  }

  async closeAll(): Promise<void> {
    const opened = this.opened.splice(0);
    await Promise.all(
      opened.map(async ({ store, client }) => {
        await store.close();
        await client.quit().catch(() => client.disconnect());
      }),
    );
  }

  async stop(): Promise<void> {
    await this.closeAll();
    await this.admin.quit();
    await this.server.stop();
  }
}

const redisBackend: BackendFactory = {
  name: 'RedisTokenStore',
  start: async () => new RedisBackend(await startRedis()),
};

/** A key prefix no other test uses. */
function uniqueNamespace(): string {
  return `wxtest-${randomUUID().slice(0, 8)}`;
}

describe.each([memoryBackend, redisBackend])('TokenStore contract: $name', (factory) => {
  let backend: Backend;
  let ns: string;

  beforeAll(async () => {
    backend = await factory.start();
  });
  beforeEach(() => {
    ns = uniqueNamespace();
  });
  afterEach(async () => {
    await backend.closeAll();
  });
  afterAll(async () => {
    await backend?.stop();
  });

  describe('compareAndSet', () => {
    it('stores the first record only when the expected version is 0', async () => {
      const store = backend.open(ns);

      const wrongFirst = await store.compareAndSet(APP, 'token', record(1), 1);
      expect(wrongFirst).toEqual({ stored: false, current: null });
      await expect(store.get(APP, 'token')).resolves.toBeNull();

      const first = await store.compareAndSet(APP, 'token', record(1), 0);
      expect(first).toEqual({ stored: true, current: record(1) });
    });

    it('rejects a write with a stale expected version and returns the current record', async () => {
      const writer = backend.open(ns);
      const laggard = backend.open(ns);
      await writer.compareAndSet(APP, 'token', record(1), 0);
      await writer.compareAndSet(APP, 'token', record(2), 1);

      const stale = await laggard.compareAndSet(APP, 'token', record(2, { value: 'LOSER' }), 1);

      expect(stale).toEqual({ stored: false, current: record(2) });
      await expect(laggard.get(APP, 'token')).resolves.toEqual(record(2));
    });

    it('round-trips every field of a record intact, also through another instance', async () => {
      const writer = backend.open(ns);
      const reader = backend.open(ns);
      const written = record(7, { endpoint: 'legacy', source: 'invalid-report', value: 'a\nb\\c{"}汉 🚀' });

      await writer.compareAndSet(APP, 'token', written, 0);

      await expect(reader.get(APP, 'token')).resolves.toEqual(written);
      await expect(reader.get(OTHER_APP, 'token')).resolves.toBeNull();
    });

    it('lets exactly one of 50 concurrent writers with the same expected version win', async () => {
      const stores = [backend.open(ns), backend.open(ns), backend.open(ns), backend.open(ns)];

      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % stores.length]!.compareAndSet(APP, 'token', record(1, { value: `candidate-${i}` }), 0),
        ),
      );

      const winners = results.filter((result) => result.stored);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!.current;
      expect(winner?.value).toMatch(/^candidate-\d+$/);
      for (const loser of results.filter((result) => !result.stored)) expect(loser.current).toEqual(winner);
      await expect(stores[0]!.get(APP, 'token')).resolves.toEqual(winner);
    });
  });

  describe('locks', () => {
    it('grants a held lock to no other owner, even through another instance', async () => {
      const processA = backend.open(ns);
      const processB = backend.open(ns);

      await expect(processA.tryLock(APP, 'refresh', 'owner-a', 10_000)).resolves.toBe(true);

      await expect(processB.tryLock(APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(false);
      await expect(processA.tryLock(APP, 'refresh', 'owner-c', 10_000)).resolves.toBe(false);
      // Locks are per account and per name.
      await expect(processB.tryLock(OTHER_APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(true);
      await expect(processB.tryLock(APP, 'other-lock', 'owner-b', 10_000)).resolves.toBe(true);
    });

    it('grants exactly one of 100 concurrent tryLock calls from different owners', async () => {
      const stores = [backend.open(ns), backend.open(ns), backend.open(ns), backend.open(ns)];

      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          stores[i % stores.length]!.tryLock(APP, 'refresh', `owner-${i}`, 10_000),
        ),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = `owner-${results.indexOf(true)}`;
      // The winner is the one who holds it: only it can release it.
      await expect(stores[1]!.releaseLock(APP, 'refresh', 'owner-none')).resolves.toBe(false);
      await expect(stores[2]!.releaseLock(APP, 'refresh', winner)).resolves.toBe(true);
    });

    it('is released only by its owner', async () => {
      const processA = backend.open(ns);
      const processB = backend.open(ns);
      await processA.tryLock(APP, 'refresh', 'owner-a', 10_000);

      await expect(processB.releaseLock(APP, 'refresh', 'owner-b')).resolves.toBe(false);
      await expect(processB.tryLock(APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(false);

      await expect(processA.releaseLock(APP, 'refresh', 'owner-a')).resolves.toBe(true);
      await expect(processB.tryLock(APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(true);
    });

    it('is extended only by its owner, and an extension outlives the original lease', async () => {
      const processA = backend.open(ns);
      const processB = backend.open(ns);
      await processA.tryLock(APP, 'refresh', 'owner-a', 300);

      await expect(processB.extendLock(APP, 'refresh', 'owner-b', 5_000)).resolves.toBe(false);
      await expect(processA.extendLock(APP, 'refresh', 'owner-a', 5_000)).resolves.toBe(true);

      await sleep(450);
      await expect(processB.tryLock(APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(false);
      await expect(processA.releaseLock(APP, 'refresh', 'owner-a')).resolves.toBe(true);
    });

    it('expires after its ttl, so another owner can take it and the old owner can no longer extend it', async () => {
      const processA = backend.open(ns);
      const processB = backend.open(ns);
      await processA.tryLock(APP, 'refresh', 'owner-a', 300);
      await expect(processB.tryLock(APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(false);

      await sleep(400);

      await expect(processA.extendLock(APP, 'refresh', 'owner-a', 10_000)).resolves.toBe(false);
      await expect(processB.tryLock(APP, 'refresh', 'owner-b', 10_000)).resolves.toBe(true);
      await expect(processA.releaseLock(APP, 'refresh', 'owner-a')).resolves.toBe(false);
    });
  });

  describe('change notifications', () => {
    it('wakes a listener on another instance with appId, kind and version within 500 ms', async () => {
      const writer = backend.open(ns);
      const reader = backend.open(ns);
      const received = nextChange(reader);
      await backend.subscribed(ns, 1);

      const start = performance.now();
      await writer.compareAndSet(APP, 'token', record(1), 0);
      const { change, at } = await received;

      expect(change).toEqual({ appId: APP, kind: 'token', version: 1 });
      expect(at - start).toBeLessThan(500);
    });

    it('stops delivering to a listener once it unsubscribes', async () => {
      const writer = backend.open(ns);
      const reader = backend.open(ns);
      const gone: CredentialChange[] = [];
      const unsubscribe = reader.onChange((change) => gone.push(change));
      const stillListening = nextChange(reader);
      await backend.subscribed(ns, 1);

      unsubscribe();
      await writer.compareAndSet(APP, 'token', record(1), 0);

      await expect(stillListening).resolves.toMatchObject({ change: { version: 1 } });
      expect(gone).toEqual([]);
    });

    it('does not notify for a rejected write', async () => {
      const writer = backend.open(ns);
      const reader = backend.open(ns);
      const changes: CredentialChange[] = [];
      reader.onChange((change) => changes.push(change));
      await backend.subscribed(ns, 1);
      await writer.compareAndSet(APP, 'token', record(1), 0);

      await writer.compareAndSet(APP, 'token', record(2), 0);
      await writer.compareAndSet(APP, 'token', record(3), 1);
      await sleep(200);

      expect(changes.map((change) => change.version)).toEqual([1, 3]);
    });

    it('does not reach a store with a different key prefix', async () => {
      const otherNs = uniqueNamespace();
      const writer = backend.open(ns);
      const sameFleet = backend.open(ns);
      const otherFleet = backend.open(otherNs);
      const strays: CredentialChange[] = [];
      otherFleet.onChange((change) => strays.push(change));
      const received = nextChange(sameFleet);
      await backend.subscribed(ns, 1);
      await backend.subscribed(otherNs, 1);

      await writer.compareAndSet(APP, 'token', record(1), 0);
      await received;
      await sleep(100);

      expect(strays).toEqual([]);
      await expect(otherFleet.get(APP, 'token')).resolves.toBeNull();
    });
  });

  describe('daily counters', () => {
    it('counts 200 concurrent increments from several instances exactly once each', async () => {
      const stores = [backend.open(ns), backend.open(ns), backend.open(ns), backend.open(ns)];

      const values = await Promise.all(
        Array.from({ length: 200 }, (_, i) => stores[i % stores.length]!.incrementCounter(APP, DAY, 'fetch')),
      );

      expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      await expect(stores[0]!.getCounters(APP, DAY)).resolves.toEqual({ fetch: 200 });
    });

    it('returns counters as numbers, honouring the increment step', async () => {
      const store = backend.open(ns);
      await store.incrementCounter(APP, DAY, 'fetch');
      await expect(store.incrementCounter(APP, DAY, 'fetch', 4)).resolves.toBe(5);
      await store.incrementCounter(APP, DAY, 'invalid_report');

      const counters = await store.getCounters(APP, DAY);

      expect(counters).toEqual({ fetch: 5, invalid_report: 1 });
      for (const value of Object.values(counters)) expect(typeof value).toBe('number');
    });

    it('keeps each day and each account separate', async () => {
      const store = backend.open(ns);
      await store.incrementCounter(APP, '20250101', 'fetch');
      await store.incrementCounter(APP, '20250101', 'fetch');
      await store.incrementCounter(APP, '20250102', 'fetch');
      await store.incrementCounter(OTHER_APP, '20250101', 'fetch', 10);

      await expect(store.getCounters(APP, '20250101')).resolves.toEqual({ fetch: 2 });
      await expect(store.getCounters(APP, '20250102')).resolves.toEqual({ fetch: 1 });
      await expect(store.getCounters(OTHER_APP, '20250101')).resolves.toEqual({ fetch: 10 });
      await expect(store.getCounters(APP, '20250103')).resolves.toEqual({});
    });
  });

  describe('reserveForce', () => {
    it('grants exactly the daily budget among concurrent attempts and refuses the rest for budget', async () => {
      const stores = [backend.open(ns), backend.open(ns)];
      const now = Date.now();

      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => stores[i % stores.length]!.reserveForce(APP, DAY, now, 3, 0)),
      );

      const granted = results.filter((result) => result.granted);
      expect(granted.map((result) => result.used).sort()).toEqual([1, 2, 3]);
      const refused = results.filter((result) => !result.granted);
      expect(refused).toHaveLength(7);
      for (const result of refused)
        expect(result).toMatchObject({ granted: false, reason: 'budget', used: 3 });
      await expect(stores[0]!.getCounters(APP, DAY)).resolves.toEqual({ force_refresh: 3 });
    });

    it('refuses a second force within the minimum spacing with the time left, and grants it afterwards', async () => {
      const processA = backend.open(ns);
      const processB = backend.open(ns);

      await expect(processA.reserveForce(APP, DAY, Date.now(), 20, 300)).resolves.toEqual({
        granted: true,
        used: 1,
      });
      const second = await processB.reserveForce(APP, DAY, Date.now(), 20, 300);

      expect(second).toMatchObject({ granted: false, reason: 'spacing', used: 1 });
      const retryAfterMs = second.granted ? NaN : second.retryAfterMs;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(300);

      await sleep(320);
      await expect(processB.reserveForce(APP, DAY, Date.now(), 20, 300)).resolves.toEqual({
        granted: true,
        used: 2,
      });
    });
  });
});

describe('RedisTokenStore on a real redis-server', () => {
  let backend: RedisBackend;
  let ns: string;

  beforeAll(async () => {
    backend = new RedisBackend(await startRedis());
  });
  beforeEach(() => {
    ns = uniqueNamespace();
  });
  afterEach(async () => {
    await backend.closeAll();
  });
  afterAll(async () => {
    await backend?.stop();
  });

  it('writes every key of an account under the account hash tag {appId}', async () => {
    const store = backend.open(ns);
    await store.compareAndSet(APP, 'token', record(1), 0);
    await store.tryLock(APP, 'refresh', 'owner-a', 10_000);
    await store.incrementCounter(APP, DAY, 'fetch');
    await store.reserveForce(APP, DAY, Date.now(), 20, 30_000);
    await store.compareAndSet(OTHER_APP, 'token', record(1), 0);
    await store.tryLock(OTHER_APP, 'refresh', 'owner-a', 10_000);

    const keys = await backend.admin.keys(`${ns}*`);

    const mine = keys.filter((key) => key.includes(APP));
    const others = keys.filter((key) => key.includes(OTHER_APP));
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(others.length).toBeGreaterThanOrEqual(2);
    expect(mine.length + others.length).toBe(keys.length);
    for (const key of mine) expect(key.startsWith(`${ns}:{${APP}}:`)).toBe(true);
    for (const key of others) expect(key.startsWith(`${ns}:{${OTHER_APP}}:`)).toBe(true);
  });

  it('gives the daily counters key a TTL, whether written by incrementCounter or reserveForce', async () => {
    const store = backend.open(ns);
    await store.incrementCounter(APP, '20250101', 'fetch');
    await store.reserveForce(APP, '20250102', Date.now(), 20, 30_000);

    for (const day of ['20250101', '20250102']) {
      const [key, ...more] = (await backend.admin.keys(`${ns}*`)).filter((k) => k.includes(day));
      expect(more).toEqual([]);
      const ttl = await backend.admin.ttl(key!);
      expect(ttl).toBeGreaterThan(86_400);
      expect(ttl).toBeLessThanOrEqual(3 * 86_400);
    }
  });

  it('gives a lock key the lease as its PTTL', async () => {
    const store = backend.open(ns);
    await store.tryLock(APP, 'refresh', 'owner-a', 5_000);

    const [key] = (await backend.admin.keys(`${ns}*`)).filter((k) => k.includes('refresh'));
    const pttl = await backend.admin.pttl(key!);

    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });

  it('rejects a read within about a second while Redis hangs, and reads again once it answers', async () => {
    const store = backend.open(ns, { commandTimeout: 300 });
    await store.compareAndSet(APP, 'token', record(1), 0);

    backend.server.pause();
    try {
      const start = performance.now();
      await expect(store.get(APP, 'token')).rejects.toThrow(/timed out/i);
      expect(performance.now() - start).toBeLessThan(1_000);
    } finally {
      backend.server.resume();
    }

    await expect(store.get(APP, 'token')).resolves.toEqual(record(1));
  });
});
