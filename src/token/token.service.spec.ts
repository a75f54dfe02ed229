import { closeAfterEach } from '../../test/support/close-after-each';
import { type LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { AccountConfig } from '../accounts/account-config';
import { MemoryTokenStore } from '../store/memory-token-store';
import { WechatSimulator, type SimulatorTiming } from '../sandbox/wechat-simulator';
import { AccountNotFoundError } from './errors/account-not-found.error';
import { msUntilNextChinaDay } from '../common/time';
import { ForceRefreshRefusedError } from './errors/force-refresh-refused.error';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { UpstreamTokenError } from './errors/upstream-token.error';
import { TokenModule } from './token.module';
import type { AccessToken } from './credential-engine';
import type { TokenModuleOptions } from './token-plane-options';
import { TokenService } from './token.service';

const STABLE = 'wx0000000000000001';
const LEGACY = 'wx0000000000000002';
const SECRETS = { [STABLE]: 'stablesecret0000000000000000001', [LEGACY]: 'legacysecret0000000000000000002' };

function account(appId: string, tokenEndpoint: 'stable' | 'legacy'): AccountConfig {
  return Object.assign(new AccountConfig(), {
    appId,
    appSecret: SECRETS[appId as keyof typeof SECRETS],
    tokenEndpoint,
  });
}

class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

interface Plane {
  sim: WechatSimulator;
  url: string;
  tokens: TokenService;
  logs: CapturingLogger;
  moduleRef: TestingModule;
}

const closes = closeAfterEach();

jest.setTimeout(20_000);

async function plane(
  options: {
    timing?: SimulatorTiming;
    module?: Partial<TokenModuleOptions>;
    before?: (sim: WechatSimulator) => void;
    /** Another instance of a fleet: shares the simulator of a plane started before. */
    fleetOf?: Plane;
  } = {},
): Promise<Plane> {
  const sim =
    options.fleetOf?.sim ??
    new WechatSimulator({
      apps: Object.entries(SECRETS).map(([appId, appSecret]) => ({ appId, appSecret })),
      ...options.timing,
    });
  const url = options.fleetOf?.url ?? (await sim.listen());
  options.before?.(sim);
  const moduleRef = await Test.createTestingModule({
    imports: [
      TokenModule.forRoot({
        accounts: [account(STABLE, 'stable'), account(LEGACY, 'legacy')],
        apiBaseUrl: url,
        store: new MemoryTokenStore(),
        refreshAheadSeconds: 60,
        upstreamTimeoutMs: 1000,
        waitTimeoutMs: 3000,
        ...options.module,
      }),
    ],
  }).compile();
  const logs = new CapturingLogger();
  moduleRef.useLogger(logs);
  await moduleRef.init();
  const result = { sim, url, tokens: moduleRef.get(TokenService), logs, moduleRef };
  if (!options.fleetOf) closes(() => sim.close());
  closes(() => moduleRef.close());
  return result;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('TokenService reads', () => {
  it('serves concurrent cold reads from one upstream call, and the token is valid at WeChat', async () => {
    const { sim, tokens } = await plane();
    const values = await Promise.all(Array.from({ length: 200 }, () => tokens.getAccessToken(STABLE)));
    expect(new Set(values).size).toBe(1);
    expect(sim.checkToken(STABLE, values[0]!)).toBe('valid');
    expect(sim.stats().byApp[STABLE]!.stableToken).toBe(1);
  });

  it('makes no upstream call while the token is fresh', async () => {
    const { sim, tokens } = await plane();
    await tokens.getAccessToken(STABLE);
    for (let i = 0; i < 1000; i++) await tokens.getAccessToken(STABLE);
    await sleep(50);
    expect(sim.stats().byApp[STABLE]!.stableToken).toBe(1);
  });

  it('uses /cgi-bin/token for a legacy account and stable_token for a stable one', async () => {
    const { sim, tokens } = await plane();
    await tokens.getAccessToken(LEGACY);
    await tokens.getAccessToken(STABLE);
    expect(sim.stats().byApp[LEGACY]).toMatchObject({ token: 1, stableToken: 0 });
    expect(sim.stats().byApp[STABLE]).toMatchObject({ token: 0, stableToken: 1 });
  });

  it('refuses an unknown account', async () => {
    const { tokens } = await plane();
    await expect(tokens.getAccessToken('wx9999999999999999')).rejects.toBeInstanceOf(AccountNotFoundError);
  });

  it('refreshes ahead of expiry on its schedule, before the old token dies', async () => {
    const { sim, tokens } = await plane({
      timing: { tokenLifetimeSeconds: 6, overlapSeconds: 3 },
      module: { refreshAheadSeconds: 2 },
    });
    const first = await tokens.getToken(STABLE);
    await sleep(4700);
    const second = await tokens.getToken(STABLE);
    expect(second.value).not.toBe(first.value);
    expect(second.version).toBe(first.version + 1);
    expect(sim.checkToken(STABLE, second.value)).toBe('valid');
    expect(sim.checkToken(STABLE, first.value)).toBe('valid'); // still inside WeChat's overlap
    expect(sim.stats().byApp[STABLE]!.stableToken).toBe(2);
  });
});

describe('TokenService invalid-token reports', () => {
  it('ignores a report of a token that is no longer current: no upstream call', async () => {
    const { sim, tokens } = await plane();
    const current = await tokens.getAccessToken(STABLE);
    const result = await tokens.reportInvalidWithOutcome(STABLE, 'an-old-token');
    expect(result.outcome).toBe('stale-report');
    expect(result.token.value).toBe(current);
    expect(sim.stats().byApp[STABLE]).toMatchObject({ stableToken: 1, business: 0 });
  });

  it('does not force a refresh on a false report of a live token, and does not probe it again at once', async () => {
    const { sim, tokens } = await plane();
    const current = await tokens.getAccessToken(STABLE);
    const first = await tokens.reportInvalidWithOutcome(STABLE, current);
    expect(first.outcome).toBe('false-report');
    expect(first.token.value).toBe(current);
    expect(sim.stats().forceCalls).toBe(0);
    expect(sim.stats().byApp[STABLE]).toMatchObject({ stableToken: 2, business: 1 });
    await tokens.reportInvalid(STABLE, current);
    // re-queried (WeChat may have moved on since), but not probed again
    expect(sim.stats().byApp[STABLE]).toMatchObject({ stableToken: 3, business: 1, stableTokenForce: 0 });
  });

  it('repairs a token killed by someone else with one normal call, no force, and reports the foreign invalidation', async () => {
    const { sim, tokens } = await plane();
    const old = await tokens.getAccessToken(STABLE);
    sim.foreignRefresh(STABLE, 'stable');
    expect(sim.checkToken(STABLE, old)).toBe('invalid');
    const results = await Promise.all(
      Array.from({ length: 100 }, () => tokens.reportInvalidWithOutcome(STABLE, old)),
    );
    const fresh = results[0]!.token.value;
    expect(results.every((r) => r.token.value === fresh)).toBe(true);
    expect(fresh).not.toBe(old);
    expect(sim.checkToken(STABLE, fresh)).toBe('valid');
    expect(sim.stats().byApp[STABLE]).toMatchObject({ stableToken: 2, stableTokenForce: 0 });
    const [state] = (await tokens.describeAccounts()).filter((a) => a.appId === STABLE);
    expect(state!.foreignInvalidationsToday).toBe(1);
  });

  it('forces a refresh only when WeChat hands back the very token reported and a probe proves it dead', async () => {
    const { sim, tokens } = await plane();
    const dead = await tokens.getAccessToken(STABLE);
    sim.revoke(STABLE, dead, { stillIssued: true });
    const result = await tokens.reportInvalidWithOutcome(STABLE, dead);
    expect(result.outcome).toBe('forced');
    expect(sim.checkToken(STABLE, result.token.value)).toBe('valid');
    expect(sim.stats().forceCalls).toBe(1);
    const [state] = (await tokens.describeAccounts()).filter((a) => a.appId === STABLE);
    expect(state!.forceRefreshBudgetLeft).toBe(19);
    expect(state!.upstreamCallsToday.stableTokenForce).toBe(1);
  });

  it('probes a legacy token before rotating it: a false report costs no token call', async () => {
    const { sim, tokens } = await plane();
    const live = await tokens.getAccessToken(LEGACY);
    expect((await tokens.reportInvalidWithOutcome(LEGACY, live)).outcome).toBe('false-report');
    expect(sim.stats().byApp[LEGACY]).toMatchObject({ token: 1, business: 1 });
  });

  it('rotates a legacy token that a probe proves dead', async () => {
    const { sim, tokens } = await plane();
    const live = await tokens.getAccessToken(LEGACY);
    sim.revoke(LEGACY, live);
    const repaired = await tokens.reportInvalidWithOutcome(LEGACY, live);
    expect(repaired.outcome).toBe('refreshed');
    expect(sim.checkToken(LEGACY, repaired.token.value)).toBe('valid');
    expect(sim.stats().byApp[LEGACY]!.token).toBe(2);
  });
});

describe('TokenService forced refresh', () => {
  it('kills the old token, and refuses a second force within 30 s', async () => {
    const { sim, tokens } = await plane();
    const old = await tokens.getAccessToken(STABLE);
    const forced = await tokens.forceRefresh(STABLE);
    expect(forced.value).not.toBe(old);
    expect(sim.checkToken(STABLE, old)).toBe('invalid');
    await expect(tokens.forceRefresh(STABLE)).rejects.toMatchObject({ reason: 'spacing' });
    expect(sim.stats().forceCalls).toBe(1);
  });

  it('refuses once the daily budget is spent', async () => {
    const { sim, tokens } = await plane({ module: { forceDailyBudget: 1 } });
    await tokens.forceRefresh(STABLE);
    const refused = await tokens.forceRefresh(STABLE).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ForceRefreshRefusedError);
    expect(refused).toMatchObject({ reason: 'budget' });
    // a client is told when the budget comes back: the next midnight Beijing time
    const untilMidnight = msUntilNextChinaDay(Date.now());
    expect((refused as ForceRefreshRefusedError).retryAfterMs).toBeGreaterThan(untilMidnight - 5_000);
    expect((refused as ForceRefreshRefusedError).retryAfterMs).toBeLessThanOrEqual(untilMidnight + 5_000);
    expect(sim.stats().forceCalls).toBe(1);
  });

  it('names the configured spacing when it refuses a force', async () => {
    const { tokens } = await plane({ module: { forceMinIntervalSeconds: 45 } });
    await tokens.forceRefresh(STABLE);
    const refused = await tokens.forceRefresh(STABLE).catch((e: unknown) => e);
    expect(refused).toMatchObject({ reason: 'spacing' });
    expect((refused as Error).message).toContain('at least 45 s apart');
  });
});

describe('TokenService upstream failures', () => {
  it('stops on a configuration error (40164) with a clear error and no hot retry loop', async () => {
    const { sim, tokens, logs } = await plane({
      before: (s) =>
        s.injectFault({
          kind: 'errcode',
          errcode: 40164,
          errmsg:
            'invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 6912a2b1-0c1d2e3f-4a5b6c7d',
        }),
    });
    const errors = await Promise.all(
      Array.from({ length: 20 }, () => tokens.getAccessToken(STABLE).catch((e: unknown) => e)),
    );
    for (const error of errors) {
      expect(error).toBeInstanceOf(TokenUnavailableError);
      expect(error).toMatchObject({ errcode: 40164 });
      expect((error as Error).message).toMatch(/whitelist/);
    }
    await sleep(100);
    expect(sim.stats().byApp[STABLE]!.stableToken).toBe(1);
    expect(logs.lines.some((l) => l.includes('40164') && l.includes(STABLE))).toBe(true);
    // the operator learns which address to whitelist, and the rid for WeChat's support
    expect(logs.lines.some((l) => l.includes('WeChat saw 203.0.113.7') && l.includes('rid 6912a2b1'))).toBe(
      true,
    );
  });

  it('keeps serving the current token while WeChat is busy, and recovers when it is back', async () => {
    const { sim, tokens } = await plane({
      timing: { tokenLifetimeSeconds: 8, overlapSeconds: 4 },
      module: { refreshAheadSeconds: 4 },
    });
    const first = await tokens.getAccessToken(STABLE);
    sim.injectFault({ kind: 'busy' });
    const deadline = Date.now() + 4800;
    while (Date.now() < deadline) {
      const value = await tokens.getAccessToken(STABLE);
      expect(value).toBe(first);
      expect(sim.checkToken(STABLE, value)).toBe('valid');
      await sleep(100);
    }
    expect(sim.stats().byApp[STABLE]!.stableToken).toBeGreaterThan(1); // it did try
    sim.clearFaults();
    await sleep(1500);
    const recovered = await tokens.getAccessToken(STABLE);
    expect(recovered).not.toBe(first);
    expect(sim.checkToken(STABLE, recovered)).toBe('valid');
  });

  it('gives up on a hanging WeChat within the bounded wait', async () => {
    const { tokens } = await plane({
      before: (s) => s.injectFault({ kind: 'hang' }),
      module: { upstreamTimeoutMs: 300, waitTimeoutMs: 1000 },
    });
    const started = Date.now();
    const error = await tokens.getAccessToken(STABLE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as Error).message).toMatch(/did not answer/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('never puts an AppSecret into an error or a log line', async () => {
    const { tokens, logs, sim } = await plane({ before: (s) => s.injectFault({ kind: 'http500' }) });
    const errors = [
      await tokens.getAccessToken(STABLE).catch((e: unknown) => e),
      await tokens.getAccessToken(LEGACY).catch((e: unknown) => e),
    ];
    sim.clearFaults();
    const text = [...errors.map((e) => `${(e as Error).message} ${(e as Error).stack}`), ...logs.lines].join(
      '\n',
    );
    expect(text).toMatch(/HTTP 500/);
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  });
});

describe('UpstreamTokenError classification', () => {
  it.each([
    [40013, 'configuration'],
    [40125, 'configuration'],
    [40164, 'configuration'],
    [40243, 'configuration'],
    [89503, 'configuration'],
    [-1, 'busy'],
    [45009, 'quota'],
    [45011, 'rate'],
    [40003, 'rejected'],
  ])('errcode %i is %s', (errcode, kind) => {
    expect(UpstreamTokenError.fromErrcode(errcode, 'x').kind).toBe(kind);
  });
});

/** The in-memory store, switched off and on like a Redis that stops answering. */
class FlakyStore extends MemoryTokenStore {
  down = false;

  private check(): void {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  }

  override async get(...args: Parameters<MemoryTokenStore['get']>): ReturnType<MemoryTokenStore['get']> {
    this.check();
    return super.get(...args);
  }

  override async compareAndSet(
    ...args: Parameters<MemoryTokenStore['compareAndSet']>
  ): ReturnType<MemoryTokenStore['compareAndSet']> {
    this.check();
    return super.compareAndSet(...args);
  }

  override async tryLock(
    ...args: Parameters<MemoryTokenStore['tryLock']>
  ): ReturnType<MemoryTokenStore['tryLock']> {
    this.check();
    return super.tryLock(...args);
  }

  override async incrementCounter(
    ...args: Parameters<MemoryTokenStore['incrementCounter']>
  ): ReturnType<MemoryTokenStore['incrementCounter']> {
    this.check();
    return super.incrementCounter(...args);
  }
}

describe('TokenService with the store down', () => {
  it('renews a stable token without the store, refuses a legacy one once it runs out, and stores the newest token when the store is back', async () => {
    const store = new FlakyStore();
    const { sim, tokens, logs } = await plane({
      timing: { tokenLifetimeSeconds: 4, overlapSeconds: 2 },
      module: { store, refreshAheadSeconds: 1.5, l1TtlMs: 200 },
    });
    const first = await tokens.getToken(STABLE);
    await tokens.getToken(LEGACY);
    const legacyCalls = sim.stats().byApp[LEGACY]!.token;
    store.down = true;

    const seen = new Set<string>();
    let legacyRefusal: unknown;
    for (const until = Date.now() + 9_000; Date.now() < until;) {
      const value = await tokens.getAccessToken(STABLE);
      expect(sim.checkToken(STABLE, value)).toBe('valid');
      seen.add(value);
      legacyRefusal ??= await tokens.getAccessToken(LEGACY).then(
        () => undefined,
        (error: unknown) => error,
      );
      await sleep(50);
    }

    // 9 s of 4-s tokens: renewed twice at least, about one call per token
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(sim.stats().byApp[STABLE]!.stableToken - 1).toBeLessThanOrEqual(seen.size + 1);
    expect(legacyRefusal).toBeInstanceOf(TokenUnavailableError);
    expect((legacyRefusal as Error).message).toContain('the token store is unreachable');
    expect((legacyRefusal as Error).message).toContain('a legacy token cannot be renewed without the store');
    expect(sim.stats().byApp[LEGACY]!.token).toBe(legacyCalls);
    expect(logs.lines.some((line) => line.includes('renewed without the store'))).toBe(true);

    store.down = false;
    // the copy is re-checked against the store within a second: the store gets the newest token back
    let held = await tokens.getToken(STABLE);
    let stored = await store.get(STABLE, 'token');
    for (const until = Date.now() + 3_000; stored?.version !== held.version && Date.now() < until;) {
      await sleep(100);
      held = await tokens.getToken(STABLE);
      stored = await store.get(STABLE, 'token');
    }
    expect(held.version).toBeGreaterThan(first.version);
    expect(stored).toMatchObject({ value: held.value, version: held.version });
  });
});

/** The in-memory store, emptied like a Redis that was flushed or restarted without its data. */
class FlushableStore extends MemoryTokenStore {
  flush(): void {
    this.records.clear();
  }
}

describe('TokenService after the store lost its records', () => {
  it('never hands out an older version: what it fetches next follows the version it served', async () => {
    const store = new FlushableStore();
    const { tokens } = await plane({ module: { store, forceMinIntervalSeconds: 0 } });
    const served = new Map<string, AccessToken>();
    for (const appId of [STABLE, LEGACY]) {
      await tokens.getToken(appId);
      served.set(appId, await tokens.forceRefresh(appId));
      expect(served.get(appId)!.version).toBe(2);
    }

    store.flush();
    // an empty store turns a force into a plain fetch: WeChat hands back the same stable token, a new legacy one
    const stable = await tokens.forceRefresh(STABLE);
    expect(stable).toMatchObject({ value: served.get(STABLE)!.value, version: 2 });
    const legacy = await tokens.forceRefresh(LEGACY);
    expect(legacy.value).not.toBe(served.get(LEGACY)!.value);
    expect(legacy.version).toBe(3);
    expect(await store.get(STABLE, 'token')).toMatchObject({ value: stable.value, version: 2 });
    expect(await store.get(LEGACY, 'token')).toMatchObject({ value: legacy.value, version: 3 });
  });

  it('serves a token another instance fetched after the loss, under a version after the one it handed out', async () => {
    const store = new FlushableStore();
    const first = await plane({ module: { store, forceMinIntervalSeconds: 0, l1TtlMs: 50 } });
    await first.tokens.getToken(LEGACY);
    const served = await first.tokens.forceRefresh(LEGACY);
    expect(served.version).toBe(2);

    store.flush();
    // a new instance finds the store empty and fetches a new legacy token, which kills the one served before;
    // meanwhile the first instance may put its token back: whichever comes first, the new token wins
    const second = await plane({ module: { store }, fleetOf: first });
    const fetched = await second.tokens.getToken(LEGACY);
    expect(fetched.value).not.toBe(served.value);

    let read = await first.tokens.getToken(LEGACY);
    let stored = await store.get(LEGACY, 'token');
    // the first instance learns of it from the store's change notification, or at its next check (50 ms)
    for (
      const until = Date.now() + 1_000;
      (stored?.version !== 3 || read.version !== 3) && Date.now() < until;
    ) {
      await sleep(60);
      read = await first.tokens.getToken(LEGACY);
      stored = await store.get(LEGACY, 'token');
    }
    expect(read).toMatchObject({ value: fetched.value, version: 3 });
    expect(stored).toMatchObject({ value: fetched.value, version: 3 });
    expect(await second.tokens.getToken(LEGACY)).toMatchObject({ value: fetched.value });
  });
});
