import { setTimeout as sleep } from 'node:timers/promises';
import { ThrottlerStorageService } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import type { AuditRecord } from '../src/audit/audit-entry';
import type { AuditStore } from '../src/audit/audit-store';
import { MemoryAuditStore } from '../src/audit/memory-audit-store';
import { RedisAuditStore } from '../src/audit/redis-audit-store';
import { RedisThrottlerStorage } from '../src/throttle/redis-throttler-storage';
import { type RedisServerHandle, startRedis } from './support/redis-server';

/* The audit and rate-limit stores against a real redis-server (the in-memory audit store runs the same cases). */

const APP_A = 'wxaaaaaaaaaaaaaaaa';
const APP_B = 'wxbbbbbbbbbbbbbbbb';

function entry(i: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: new Date(1_700_000_000_000 + i).toISOString(),
    action: i % 3 === 0 ? 'quota.clear' : 'token.invalid_report',
    appId: i % 2 === 0 ? APP_A : APP_B,
    actor: `key#0000000${i % 10}`,
    ip: '10.0.0.1',
    result: 'ok',
    reason: null,
    errcode: null,
    rid: null,
    version: null,
    instance: 'test:1',
    details: { n: i },
    ...overrides,
  };
}

describe('audit and rate-limit stores on a real Redis', () => {
  let redis: RedisServerHandle;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const made = redis.client({ commandTimeout: 500, maxRetriesPerRequest: 1 });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    redis = await startRedis({ args: ['--stream-node-max-entries', '10'] });
  });

  afterAll(() => {
    for (const made of clients) made.disconnect();
  });

  describe.each([
    ['RedisAuditStore', (max: number) => new RedisAuditStore(client(), `t${Math.random()}`, max, 'redis')],
    ['MemoryAuditStore', (max: number) => new MemoryAuditStore(max)],
  ] as const)('%s', (_name, make: (max: number) => AuditStore) => {
    it('lists newest first, filters by appId and action, and pages back with before', async () => {
      const store = make(1000);
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await store.append(entry(i)));
      expect(new Set(ids).size).toBe(40);

      const newest = await store.list({ limit: 5 });
      expect(newest.map((e) => e.details?.n)).toEqual([39, 38, 37, 36, 35]);
      expect(newest[0]).toEqual({ id: ids[39], ...entry(39) });

      const clears = await store.list({ limit: 100, appId: APP_A, action: 'quota.clear' });
      expect(clears.map((e) => e.details?.n)).toEqual([36, 30, 24, 18, 12, 6, 0]);

      const page2 = await store.list({ limit: 5, before: newest[4]!.id });
      expect(page2.map((e) => e.details?.n)).toEqual([34, 33, 32, 31, 30]);
      const filteredPage = await store.list({ limit: 3, appId: APP_B, before: ids[20] });
      expect(filteredPage.map((e) => e.details?.n)).toEqual([19, 17, 15]);
      expect(await store.list({ limit: 10, before: ids[0] })).toEqual([]);
    });

    it('keeps about the newest maxEntries and drops the oldest', async () => {
      const store = make(25);
      for (let i = 0; i < 200; i++) await store.append(entry(i));
      const all = await store.list({ limit: 1000 });
      // MAXLEN ~ trims whole stream nodes (10 entries with this server's setting)
      expect(all.length).toBeGreaterThanOrEqual(25);
      expect(all.length).toBeLessThanOrEqual(35);
      expect(all[0]!.details?.n).toBe(199);
      expect(all.at(-1)!.details?.n).toBe(200 - all.length);
    });
  });

  it('the stream lives at <prefix>:audit, so environments sharing a Redis do not mix', async () => {
    const staging = new RedisAuditStore(client(), 'staging', 100, 'redis');
    const production = new RedisAuditStore(client(), 'production', 100, 'redis');
    await staging.append(entry(1));
    expect(await production.list({ limit: 10 })).toEqual([]);
    expect(await client().xlen('staging:audit')).toBe(1);
  });

  describe('RedisThrottlerStorage', () => {
    const storage = (prefix: string, onFailure?: () => void): RedisThrottlerStorage =>
      new RedisThrottlerStorage(client(), prefix, new ThrottlerStorageService(), onFailure);

    it('two instances count into one limit, block past it, and start again after the block', async () => {
      const [a, b] = [storage('p1'), storage('p1')];
      const results = [];
      for (let i = 0; i < 4; i++)
        results.push(await (i % 2 ? b : a).increment('reload:key#1', 800, 3, 800, 'reload'));
      expect(results.map((r) => [r.totalHits, r.isBlocked])).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, true],
      ]);
      expect(results[3]!.timeToBlockExpire).toBe(1);
      expect((await a.increment('reload:key#2', 800, 3, 800, 'reload')).isBlocked).toBe(false); // per client
      expect((await b.increment('reload:key#1', 800, 3, 800, 'reload')).isBlocked).toBe(true);
      expect(await client().pttl('p1:throttle:{reload:key#1}:blocked')).toBeGreaterThan(0);

      await sleep(900);
      const after = await b.increment('reload:key#1', 800, 3, 800, 'reload');
      expect([after.totalHits, after.isBlocked]).toEqual([1, false]);
      expect(await client().pttl('p1:throttle:{reload:key#1}')).toBeGreaterThan(0); // the window expires by itself
    });

    it('with Redis paused it counts in memory after one command timeout (never more than the shared count), asks Redis again only after 5 s, and reports each miss', async () => {
      let failures = 0;
      const paused = storage('p2', () => failures++);
      await paused.increment('force-refresh:key#1', 60_000, 2, 60_000, 'force-refresh');
      redis.pause();
      try {
        let started = Date.now();
        const first = await paused.increment('force-refresh:key#1', 60_000, 2, 60_000, 'force-refresh');
        expect(Date.now() - started).toBeLessThan(1_500); // one command timeout
        expect(first).toMatchObject({ totalHits: 1, isBlocked: false });
        started = Date.now();
        const second = await paused.increment('force-refresh:key#1', 60_000, 2, 60_000, 'force-refresh');
        expect(Date.now() - started).toBeLessThan(50); // Redis is not asked while it is known to be down
        expect(second).toMatchObject({ totalHits: 2, isBlocked: false });
        expect(failures).toBe(1);
        expect(paused.storeFailures).toBe(1);
      } finally {
        redis.resume();
      }
    });
  });
});
