import { closeAfterEach } from '../../test/support/close-after-each';
import { Test, type TestingModule } from '@nestjs/testing';
import { AccountConfig } from '../accounts/account-config';
import { MemoryTokenStore } from '../store/memory-token-store';
import { WechatSimulator } from '../sandbox/wechat-simulator';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { TokenModule } from './token.module';
import type { TokenModuleOptions } from './token-plane-options';
import { TokenScheduler } from './token-scheduler';
import { TokenService } from './token.service';

jest.setTimeout(30_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function apps(n: number): { appId: string; appSecret: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    appId: `wxscaletest${String(i).padStart(7, '0')}`,
    appSecret: `scaletestsecret${String(i).padStart(17, '0')}`,
  }));
}

interface Plane {
  sim: WechatSimulator;
  store: MemoryTokenStore;
  tokens: TokenService;
  scheduler: TokenScheduler;
  moduleRef: TestingModule;
  /** The most stable_token requests the simulator ever had in flight at once. */
  maxInFlight: () => number;
}

const closes = closeAfterEach();

async function plane(n: number, latencyMs: number, module: Partial<TokenModuleOptions> = {}): Promise<Plane> {
  const list = apps(n);
  const sim = new WechatSimulator({ apps: list });
  let inFlight = 0;
  let max = 0;
  sim.server.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/cgi-bin/stable_token')) max = Math.max(max, ++inFlight);
  });
  sim.server.addHook('onResponse', async (request) => {
    if (request.url.startsWith('/cgi-bin/stable_token')) inFlight--;
  });
  const url = await sim.listen();
  if (latencyMs > 0) sim.injectFault({ kind: 'latency', latencyMs, paths: ['/cgi-bin/stable_token'] });
  const store = new MemoryTokenStore();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TokenModule.forRoot({
        accounts: list.map((a) => Object.assign(new AccountConfig(), { ...a, tokenEndpoint: 'stable' })),
        apiBaseUrl: url,
        store,
        refreshAheadSeconds: 60,
        upstreamTimeoutMs: 5000,
        ...module,
      }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  const result = {
    sim,
    store,
    tokens: moduleRef.get(TokenService),
    scheduler: moduleRef.get(TokenScheduler),
    moduleRef,
    maxInFlight: () => max,
  };
  closes(() => sim.close());
  closes(() => moduleRef.close());
  return result;
}

async function allLive(p: Plane, n: number, limitMs: number): Promise<number> {
  const started = Date.now();
  const ids = apps(n).map((a) => a.appId);
  while (Date.now() - started < limitMs) {
    const statuses = await Promise.all(ids.map((id) => p.tokens.status(id)));
    if (statuses.every((s) => s === 'live')) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`not every account was live after ${limitMs} ms`);
}

describe('ConcurrencyLimiter', () => {
  it('runs at most `limit` tasks at once, in arrival order, and passes failures through', async () => {
    const limiter = new ConcurrencyLimiter(3);
    let running = 0;
    let max = 0;
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          order.push(i);
          max = Math.max(max, ++running);
          await sleep(5);
          running--;
          if (i === 4) throw new Error('task 4 failed');
          return i;
        }),
      ),
    );
    expect(max).toBe(3);
    expect(limiter.maxActive).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(RangeError);
  });
});

describe('cold start with many accounts', () => {
  it('bounds the upstream token calls in flight, and a caller needing a token now does not wait behind the queue', async () => {
    // 60 accounts × 150 ms / 4 at a time: the scheduler needs ≥ 2.2 s to fetch them all
    const p = await plane(60, 150, { refreshConcurrency: 4 });
    const wanted = apps(60)
      .slice(-5)
      .map((a) => a.appId);
    const started = Date.now();
    const tokens = await Promise.all(wanted.map((id) => p.tokens.getAccessToken(id)));
    const readMs = Date.now() - started;
    const bootMs = await allLive(p, 60, 20_000);
    for (const [i, id] of wanted.entries()) expect(p.sim.checkToken(id, tokens[i] as string)).toBe('valid');
    expect(bootMs).toBeGreaterThan(1500);
    // the readers bypass the queue: one upstream round trip, not their turn in it
    expect(readMs).toBeLessThan(1000);
    // 4 scheduled + at most the 5 readers' own calls
    expect(p.maxInFlight()).toBeLessThanOrEqual(4 + wanted.length);
    expect(p.scheduler.refreshQueue.maxActive).toBe(4);
    // every account fetched once: the queued refreshes of the accounts the readers fetched found them fresh
    expect(p.sim.stats().calls['/cgi-bin/stable_token']).toBe(60);
  });

  it('reports accounts waiting in the queue as refreshing, not missing', async () => {
    const p = await plane(30, 200, { refreshConcurrency: 2 });
    await sleep(100);
    const statuses = await Promise.all(apps(30).map((a) => p.tokens.status(a.appId)));
    expect(statuses.filter((s) => s === 'refreshing').length).toBeGreaterThanOrEqual(28);
    expect(statuses).not.toContain('missing');
  });
});

describe('health and gauges at scale', () => {
  it('answer from the in-process copies: no store read per account per probe or scrape', async () => {
    const p = await plane(50, 0);
    await allLive(p, 50, 10_000);
    await p.tokens.tokenGauges(); // the first scrape reads each account's force budget once
    const get = jest.spyOn(p.store, 'get');
    const counters = jest.spyOn(p.store, 'getCounters');
    for (let i = 0; i < 5; i++) {
      await Promise.all(apps(50).map((a) => p.tokens.status(a.appId)));
      await p.tokens.tokenGauges();
    }
    expect(get).not.toHaveBeenCalled();
    expect(counters).not.toHaveBeenCalled();

    const first = apps(50)[0]!.appId;
    const gauges = await p.tokens.tokenGauges();
    expect(gauges).toHaveLength(50);
    expect(gauges.find((g) => g.appId === first)).toMatchObject({ forceRefreshBudgetLeft: 20 });
    expect(gauges.every((g) => g.expiresIn !== null && g.expiresIn > 7000)).toBe(true);

    // a forced refresh spends budget: the next scrape re-reads that account's counters, and only that one
    const forced = await p.tokens.forceRefresh(first);
    counters.mockClear();
    const after = await p.tokens.tokenGauges();
    expect(after.find((g) => g.appId === first)).toMatchObject({ forceRefreshBudgetLeft: 19 });
    expect(counters.mock.calls.map((c) => c[0])).toEqual([first]);
    expect(await p.tokens.status(first)).toBe('live');
    expect((await p.tokens.getToken(first)).version).toBe(forced.version);
    expect(get).not.toHaveBeenCalledWith(apps(50)[1]!.appId, 'token');
  });

  it('learns a token another instance stored (change notification) without a probe reading the store', async () => {
    const p = await plane(3, 0);
    await allLive(p, 3, 10_000);
    const id = apps(3)[2]!.appId;
    const held = await p.tokens.getToken(id);
    // another instance rotates it: a newer version lands in the shared store and is announced
    const record = (await p.store.get(id, 'token'))!;
    const newer = {
      ...record,
      value: 'token-from-another-instance',
      version: record.version + 1,
      expiresAt: Date.now() + 7_000_000,
    };
    expect((await p.store.compareAndSet(id, 'token', newer, record.version)).stored).toBe(true);
    for (
      let i = 0;
      i < 50 && (await p.tokens.tokenGauges()).find((g) => g.appId === id)!.expiresIn! < 6_900;
      i++
    )
      await sleep(10);
    expect((await p.tokens.tokenGauges()).find((g) => g.appId === id)!.expiresIn).toBeGreaterThan(6_900);
    expect(held.version).toBe(record.version);
    expect(await p.tokens.status(id)).toBe('live');
  });
});
