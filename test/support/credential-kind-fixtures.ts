import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AccountRegistry } from '../../src/accounts/account-registry';
import { backoffMs, chinaDay } from '../../src/common/time';
import type { CredentialRecord, TokenStore } from '../../src/store/token-store';
import { CredentialCoordinator } from '../../src/token/credential-coordinator';
import { CredentialEngines, type CredentialEngine } from '../../src/token/credential-engine';
import type { CredentialKind, CredentialScope } from '../../src/token/credential-kind';
import { CredentialTerminalError } from '../../src/token/errors/credential-terminal.error';
import { UpstreamTokenError } from '../../src/token/errors/upstream-token.error';
import { resolveTokenPlaneOptions } from '../../src/token/token-plane-options';
import { TokenScheduler } from '../../src/token/token-scheduler';

export const COMPONENT = 'wxcomponent0000001';
export const AUTHORIZER = 'wxauthorizer000001';
export const TEN_MINUTES = 600_000;

/**
 * A stand-in for WeChat's Open Platform token endpoints: a component token per call, and an authorizer token that
 * needs a live component token and the newest refresh token, returning a new refresh token each time (the older
 * one is refused with 61023, as a lost pair would be).
 */
export class FakeOpenPlatform {
  componentCalls = 0;
  authorizerCalls = 0;
  latestRefreshToken = 'refresh-1';
  latestValue: string | undefined;
  /** What each authorizer call was given. */
  readonly authorizerRequests: { componentToken: string; refreshToken: string | undefined }[] = [];
  private readonly componentTokens = new Set<string>();
  private serial = 0;

  constructor(
    private readonly delayMs = 30,
    private readonly lifetimeSeconds = 7200,
  ) {}

  async componentToken(): Promise<{ value: string; expiresInSeconds: number }> {
    this.componentCalls++;
    await sleep(this.delayMs);
    const value = `component-${++this.serial}`;
    this.componentTokens.add(value);
    return { value, expiresInSeconds: this.lifetimeSeconds };
  }

  async authorizerToken(
    componentToken: string,
    refreshToken: string | undefined,
  ): Promise<{ value: string; refreshToken: string; expiresInSeconds: number }> {
    this.authorizerCalls++;
    this.authorizerRequests.push({ componentToken, refreshToken });
    await sleep(this.delayMs);
    if (!this.componentTokens.has(componentToken))
      throw new UpstreamTokenError('rejected', 'invalid component_access_token', 40001);
    if (refreshToken !== this.latestRefreshToken)
      throw new UpstreamTokenError('rejected', 'the refresh token is invalid', 61023);
    const n = ++this.serial;
    this.latestRefreshToken = `refresh-${n}`;
    this.latestValue = `authorizer-${n}`;
    return {
      value: this.latestValue,
      refreshToken: this.latestRefreshToken,
      expiresInSeconds: this.lifetimeSeconds,
    };
  }

  /** The pair WeChat last issued is the stored one. */
  holds(record: CredentialRecord | null): boolean {
    return record?.refreshToken === this.latestRefreshToken && record.value === this.latestValue;
  }
}

const backoff = (error: UpstreamTokenError, attempt: number): number => backoffMs(attempt - 1, 1_000, 30_000);

/** A component token: rotating, never served with less than 10 minutes left, counted per day. */
export function componentKind(wechat: FakeOpenPlatform): CredentialKind {
  return {
    id: 'component_token',
    label: 'component token',
    rotation: () => 'rotating',
    endpoint: () => 'stable',
    minRemainingMs: TEN_MINUTES,
    dayCounter: 'component_token',
    backoffMs: backoff,
    needsAttention: () => false,
    async fetch({ countCall }) {
      const startedAt = Date.now();
      countCall();
      const fetched = await wechat.componentToken();
      return { ...fetched, startedAt };
    },
  };
}

/**
 * An authorizer token: fetched with another credential (the component token, through its engine) and the stored
 * refresh token; the refresh token returned is persisted with the token.
 */
export function authorizerKind(
  wechat: FakeOpenPlatform,
  component: CredentialEngine,
  scope?: CredentialScope,
): CredentialKind {
  return {
    ...(scope ? { scope } : {}),
    id: 'authorizer_token',
    label: 'authorizer token',
    rotation: () => 'rotating',
    endpoint: () => 'stable',
    minRemainingMs: TEN_MINUTES,
    persistsRefreshToken: true,
    dayCounter: 'authorizer_token',
    backoffMs: backoff,
    needsAttention: () => false,
    terminal: (error) => (error.errcode === 61023 ? 'needs-reauthorization' : undefined),
    async fetch({ current, countCall }) {
      const startedAt = Date.now();
      const componentToken = (await component.get(COMPONENT)).token.value;
      countCall();
      const fetched = await wechat.authorizerToken(componentToken, current?.refreshToken);
      return { ...fetched, startedAt };
    },
  };
}

/** One instance of a fleet: its own coordinator, schedule and engines on the shared `store`. */
export interface KindPlane {
  component: CredentialEngine;
  authorizer: CredentialEngine;
  scheduler: TokenScheduler;
  close(): Promise<void>;
}

export function kindPlane(
  store: TokenStore,
  wechat: FakeOpenPlatform,
  instanceId: string,
  authorizers?: CredentialScope,
): KindPlane {
  const options = {
    ...resolveTokenPlaneOptions({ accounts: [], refreshAheadSeconds: 60, waitTimeoutMs: 5_000 }),
    instanceId,
  };
  const coordinator = new CredentialCoordinator(store, options);
  const scheduler = new TokenScheduler(new SchedulerRegistry(), new AccountRegistry([]), store, options);
  const engines = new CredentialEngines(store, coordinator, scheduler, options);
  const logger = new Logger(`kinds:${instanceId}`);
  const component = engines.create(componentKind(wechat), { logger });
  const authorizer = engines.create(authorizerKind(wechat, component, authorizers), { logger });
  scheduler.onApplicationBootstrap();
  return {
    component,
    authorizer,
    scheduler,
    async close() {
      engines.onModuleDestroy();
      scheduler.onModuleDestroy();
      await coordinator.onModuleDestroy();
    },
  };
}

/** Stores `record` as the authorizer's first token (an authorization did). */
async function seedAuthorizer(store: TokenStore, record: CredentialRecord): Promise<void> {
  await store.compareAndSet(AUTHORIZER, 'authorizer_token', record, 0);
}

/** An authorizer record as stored before the current one, `leftMs` from expiry. */
export function authorizerRecord(version: number, refreshToken: string, leftMs: number): CredentialRecord {
  const now = Date.now();
  return {
    value: `authorizer-seed-${version}`,
    version,
    fetchedAt: now - 7_200_000 + leftMs,
    expiresAt: now + leftMs,
    endpoint: 'stable',
    source: 'authorization',
    refreshToken,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Where the kind contract runs: stores that share state as the processes of one fleet would. */
export interface KindBackend {
  /** A store on the shared state (a new connection for Redis). */
  open(): TokenStore;
  /** Closes what `open` opened. */
  closeAll(): Promise<void>;
}

/**
 * The behaviour every store must give a kind that fetches with another credential and persists a refresh token;
 * run by the unit spec on the in-memory store and by the e2e spec on a real redis-server.
 */
export function credentialKindContract(backend: () => KindBackend): void {
  let planes: KindPlane[] = [];

  afterEach(async () => {
    await Promise.all(planes.map((plane) => plane.close()));
    planes = [];
    await backend().closeAll();
  });

  function start(
    store: TokenStore,
    wechat: FakeOpenPlatform,
    id: string,
    authorizers?: CredentialScope,
  ): KindPlane {
    const plane = kindPlane(store, wechat, id, authorizers);
    planes.push(plane);
    return plane;
  }

  it('fetches with the other credential and the stored refresh token, and stores the returned one with the token', async () => {
    const wechat = new FakeOpenPlatform();
    const store = backend().open();
    await seedAuthorizer(store, authorizerRecord(1, 'refresh-1', -1_000));
    const plane = start(store, wechat, 'a');

    const held = await plane.authorizer.get(AUTHORIZER);

    expect(wechat.componentCalls).toBe(1);
    expect(wechat.authorizerRequests).toEqual([{ componentToken: 'component-1', refreshToken: 'refresh-1' }]);
    const stored = await store.get(AUTHORIZER, 'authorizer_token');
    expect(stored).toMatchObject({
      value: held.token.value,
      version: 2,
      refreshToken: wechat.latestRefreshToken,
    });
    expect(wechat.holds(stored)).toBe(true);
    // the next refresh presents the refresh token the previous one stored
    await plane.authorizer.refresh(AUTHORIZER, Number.MAX_SAFE_INTEGER);
    expect(wechat.authorizerRequests[1]?.refreshToken).toBe(stored?.refreshToken);
    expect(wechat.holds(await store.get(AUTHORIZER, 'authorizer_token'))).toBe(true);
    expect(await store.getCounters(AUTHORIZER, chinaDayNow())).toMatchObject({ authorizer_token: 2 });
  });

  it('refreshes once across instances refreshing at the same time, and every instance gets the stored pair', async () => {
    const wechat = new FakeOpenPlatform(80);
    const stores = [backend().open(), backend().open(), backend().open()];
    await stores[0]!.compareAndSet(
      AUTHORIZER,
      'authorizer_token',
      authorizerRecord(1, 'refresh-1', -1_000),
      0,
    );
    const fleet = stores.map((store, i) => start(store, wechat, `i${i}`));

    const got = await Promise.all(
      fleet.flatMap((plane) => [plane.authorizer.get(AUTHORIZER), plane.authorizer.get(AUTHORIZER)]),
    );

    expect(wechat.authorizerCalls).toBe(1);
    expect(wechat.componentCalls).toBe(1);
    expect(new Set(got.map((held) => held.token.value))).toEqual(new Set([wechat.latestValue]));
    expect(wechat.holds(await stores[2]!.get(AUTHORIZER, 'authorizer_token'))).toBe(true);
  });

  it('never lets an older fetch overwrite a newer token and refresh-token pair', async () => {
    const wechat = new FakeOpenPlatform();
    const [storeA, storeB] = [backend().open(), backend().open()];
    await storeA.compareAndSet(AUTHORIZER, 'authorizer_token', authorizerRecord(1, 'refresh-1', -1_000), 0);
    const a = start(storeA, wechat, 'a');
    const b = start(storeB, wechat, 'b');
    const base = await storeA.get(AUTHORIZER, 'authorizer_token');

    // a fetched from version 1 but is slow to write; b refreshes meanwhile and stores version 2
    const older = {
      value: 'authorizer-slow',
      refreshToken: 'refresh-slow',
      expiresInSeconds: 7200,
      startedAt: Date.now(),
    };
    await b.authorizer.refresh(AUTHORIZER, Number.POSITIVE_INFINITY);
    const newer = await storeB.get(AUTHORIZER, 'authorizer_token');
    const { record, changed } = await a.authorizer.save(AUTHORIZER, base, older, 'schedule');

    expect(changed).toBe(false);
    expect(record).toEqual(newer);
    const stored = await storeA.get(AUTHORIZER, 'authorizer_token');
    expect(stored).toEqual(newer);
    expect(stored?.refreshToken).not.toBe(older.refreshToken);
    expect(wechat.holds(stored)).toBe(true);
    // the pair kept is a working one: the next refresh from either instance is accepted
    await a.authorizer.refresh(AUTHORIZER, Number.MAX_SAFE_INTEGER);
    expect(wechat.holds(await storeA.get(AUTHORIZER, 'authorizer_token'))).toBe(true);
  });

  it("never serves a token with less than the kind's minimum remaining lifetime", async () => {
    const wechat = new FakeOpenPlatform();
    const store = backend().open();
    await seedAuthorizer(store, authorizerRecord(1, 'refresh-1', TEN_MINUTES - 60_000));
    const plane = start(store, wechat, 'a');

    const held = await plane.authorizer.get(AUTHORIZER);

    expect(held.token.value).not.toBe('authorizer-seed-1');
    expect(held.token.expiresAt.getTime() - Date.now()).toBeGreaterThan(TEN_MINUTES);
    expect(wechat.authorizerCalls).toBe(1);
  });

  it('stops at needs-reauthorization when the refresh token is refused (61023): no retry, until re-armed', async () => {
    const wechat = new FakeOpenPlatform();
    const store = backend().open();
    await seedAuthorizer(store, authorizerRecord(1, 'refresh-revoked', -1_000));
    const plane = start(store, wechat, 'a');

    const first = await plane.authorizer.get(AUTHORIZER).catch((error: unknown) => error);
    const again = await plane.authorizer.get(AUTHORIZER).catch((error: unknown) => error);

    expect(first).toBeInstanceOf(CredentialTerminalError);
    expect(first).toMatchObject({ errcode: 61023, state: 'needs-reauthorization', retryAfterMs: undefined });
    expect(again).toBeInstanceOf(CredentialTerminalError);
    expect(wechat.authorizerCalls).toBe(1);
    expect(plane.authorizer.failureOf(AUTHORIZER)?.terminal).toBe('needs-reauthorization');

    // a new authorization stores a working refresh token and re-arms the credential
    const current = await store.get(AUTHORIZER, 'authorizer_token');
    await store.compareAndSet(
      AUTHORIZER,
      'authorizer_token',
      { ...current!, version: 2, refreshToken: wechat.latestRefreshToken },
      1,
    );
    plane.authorizer.forgetFailure(AUTHORIZER);
    expect((await plane.authorizer.get(AUTHORIZER)).token.value).toBe(wechat.latestValue);
    expect(wechat.authorizerCalls).toBe(2);
  });

  it('refreshes the IDs a kind declares on its schedule, planned from boot, and only while it owns them', async () => {
    const wechat = new FakeOpenPlatform();
    const store = backend().open();
    // an authorizer lives in the store only: no account of the registry names it
    await seedAuthorizer(store, authorizerRecord(1, 'refresh-1', TEN_MINUTES - 60_000));
    const owned = new Set([AUTHORIZER]);
    const plane = start(store, wechat, 'a', { owns: (id) => owned.has(id), atBoot: () => [...owned] });

    // due at once (less than its minimum left): refreshed with nobody reading it
    for (const until = Date.now() + 3_000; wechat.authorizerCalls === 0 && Date.now() < until;)
      await sleep(20);
    let stored = await store.get(AUTHORIZER, 'authorizer_token');
    for (const until = Date.now() + 1_000; !wechat.holds(stored) && Date.now() < until;) {
      await sleep(20);
      stored = await store.get(AUTHORIZER, 'authorizer_token');
    }
    expect(wechat.authorizerCalls).toBe(1);
    expect(wechat.holds(stored)).toBe(true);
    expect(plane.scheduler.nextRefreshAt(AUTHORIZER, 'authorizer_token')).toBeGreaterThan(Date.now());

    // an ID the kind does not own (revoked) is not planned
    owned.clear();
    plane.scheduler.untrack(AUTHORIZER);
    plane.scheduler.track(AUTHORIZER, 'authorizer_token');
    await sleep(50);
    expect(plane.scheduler.nextRefreshAt(AUTHORIZER, 'authorizer_token')).toBeUndefined();
  });

  it('writes no refresh token for a kind that keeps none, and keeps the stored one when a fetch returns none', async () => {
    const wechat = new FakeOpenPlatform();
    const store = backend().open();
    const plane = start(store, wechat, 'a');

    await plane.component.get(COMPONENT);
    expect(await store.get(COMPONENT, 'component_token')).not.toHaveProperty('refreshToken');
    const saved = await plane.component.save(
      COMPONENT,
      await store.get(COMPONENT, 'component_token'),
      { value: 'x', expiresInSeconds: 7200, startedAt: Date.now(), refreshToken: 'leak' },
      'test',
    );
    expect(saved.changed).toBe(true);
    const component = await store.get(COMPONENT, 'component_token');
    expect(component).toMatchObject({ value: 'x', version: 2 });
    expect(component).not.toHaveProperty('refreshToken');

    await seedAuthorizer(store, authorizerRecord(1, 'refresh-1', 3_600_000));
    const current = await store.get(AUTHORIZER, 'authorizer_token');
    await plane.authorizer.save(
      AUTHORIZER,
      current,
      { value: 'renewed', expiresInSeconds: 7200, startedAt: Date.now() },
      'test',
    );
    expect(await store.get(AUTHORIZER, 'authorizer_token')).toMatchObject({
      value: 'renewed',
      version: 2,
      refreshToken: 'refresh-1',
    });
  });
}

function chinaDayNow(): string {
  return chinaDay(Date.now());
}
