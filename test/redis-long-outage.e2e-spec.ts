import { Redis } from 'ioredis';
import { freePort } from './support/free-port';
import { getJson } from './support/http';
import { startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';
import { reportFault } from './support/fault-report';

/*
 * Redis stays down for longer than a token lives. Stable tokens are renewed all the same: in normal mode WeChat
 * hands every caller the same stable token, so an instance may ask on its own without the fleet's lock; readers
 * see no error and no dead token. A legacy token cannot be renewed without the lock (each call kills the previous
 * token): once it runs out its account answers 503, and recovers when Redis is back. Tokens of 12 s, stable
 * tokens renewable in their last 4 s, the hub refreshing 3 s ahead.
 */

const STABLE = 'wxlongoutage000001';
const LEGACY = 'wxlongoutage000002';
const secretOf = (appId: string): string => `${appId}secret0000000001`;
const KEY = 'long-outage-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };
const LIFETIME_S = 12;
const OVERLAP_S = 4;
const OUTAGE_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface TokenAnswer {
  access_token: string;
  version: number;
  expires_at: string;
}

describe('Redis down for longer than a token lives', () => {
  let port: number;
  let redis: RedisServerHandle;
  let sim: ChildHandle & { url: string };
  let hub: ChildHandle & { url: string };

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis({ port });
    const accounts = [
      { appId: STABLE, appSecret: secretOf(STABLE), tokenEndpoint: 'stable' },
      { appId: LEGACY, appSecret: secretOf(LEGACY), tokenEndpoint: 'legacy' },
    ];
    sim = await startSimulator({
      SANDBOX_APPS: JSON.stringify(accounts.map(({ appId, appSecret }) => ({ appId, appSecret }))),
      SANDBOX_TOKEN_LIFETIME_SECONDS: String(LIFETIME_S),
      SANDBOX_OVERLAP_SECONDS: String(OVERLAP_S),
    });
    hub = await startHub({
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify(accounts),
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      ADMIN_API_KEYS: KEY,
      TOKEN_REFRESH_AHEAD_SECONDS: '3',
    });
  });

  afterAll(async () => {
    await Promise.all([hub, sim].filter(Boolean).map((p) => terminate(p)));
    await redis?.stop();
  });

  async function upstreamCalls(): Promise<{ stable: number; legacy: number }> {
    const stats = await getJson<{ byApp: Record<string, { stableToken?: number; token?: number }> }>(
      `${sim.url}/sandbox/stats`,
    );
    return {
      stable: stats.body.byApp[STABLE]?.stableToken ?? 0,
      legacy: stats.body.byApp[LEGACY]?.token ?? 0,
    };
  }

  it('keeps renewing stable tokens without Redis, with no error and no dead token, and stores the newest when Redis is back', async () => {
    const before = await getJson<TokenAnswer>(`${hub.url}/api/v1/accounts/${STABLE}/token`, auth);
    expect(before.status).toBe(200);
    expect((await getJson(`${hub.url}/api/v1/accounts/${LEGACY}/token`, auth)).status).toBe(200);
    const callsBefore = await upstreamCalls();

    await redis.stop();
    const downAt = Date.now();
    const tokens = new Set<string>();
    let reads = 0;
    let readErrors = 0;
    let invalid = 0;
    const legacyStatuses = new Set<number>();
    while (Date.now() - downAt < OUTAGE_MS) {
      const read = await getJson<TokenAnswer>(`${hub.url}/api/v1/accounts/${STABLE}/token`, auth);
      reads += 1;
      if (read.status !== 200) {
        readErrors += 1;
      } else {
        tokens.add(read.body.access_token);
        // used at once, as a caller would: WeChat's verdict on the token the hub handed out
        const use = await getJson<{ errcode?: number }>(
          `${sim.url}/cgi-bin/getcallbackip?access_token=${encodeURIComponent(read.body.access_token)}`,
        );
        if ([40001, 40014, 42001].includes(use.body.errcode ?? 0)) invalid += 1;
      }
      legacyStatuses.add((await getJson(`${hub.url}/api/v1/accounts/${LEGACY}/token`, auth)).status);
      await sleep(100);
    }
    const callsDown = await upstreamCalls();

    expect({ readErrors, invalid }).toEqual({ readErrors: 0, invalid: 0 });
    expect(reads).toBeGreaterThan(50);
    // 30 s of 12-s tokens: at least two renewals, about one call per renewal (not one per read)
    expect(tokens.size).toBeGreaterThanOrEqual(3);
    expect(callsDown.stable - callsBefore.stable).toBeGreaterThanOrEqual(2);
    expect(callsDown.stable - callsBefore.stable).toBeLessThanOrEqual(2 * tokens.size);
    // the legacy account ran out: refused, never renewed behind the fleet's back
    expect(legacyStatuses).toEqual(new Set([200, 503]));
    expect(callsDown.legacy).toBe(callsBefore.legacy);

    redis = await startRedis({ port });
    const backAt = Date.now();
    const client = new Redis(port, '127.0.0.1');
    try {
      let stored: { value: string; version: number } | null = null;
      let current: TokenAnswer | undefined;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        current = (await getJson<TokenAnswer>(`${hub.url}/api/v1/accounts/${STABLE}/token`, auth)).body;
        const raw = await client.get(`wxhub:{${STABLE}}:token`);
        stored = raw === null ? null : (JSON.parse(raw) as { value: string; version: number });
        if (stored?.value === current.access_token) break;
        await sleep(250);
      }
      expect(stored).toMatchObject({ value: current!.access_token, version: current!.version });
      expect(current!.version).toBeGreaterThan(before.body.version);
      let legacy = 0;
      while (Date.now() < deadline && legacy !== 200) {
        legacy = (await getJson(`${hub.url}/api/v1/accounts/${LEGACY}/token`, auth)).status;
        if (legacy !== 200) await sleep(250);
      }
      expect(legacy).toBe(200);
      reportFault({
        scenario: 'Redis down for 2.5 token lifetimes (stable)',
        invalidServed: invalid,
        callerErrors: readErrors,
        recoverySeconds: (Date.now() - backAt) / 1000,
        note: `${tokens.size} stable tokens renewed without the store (${callsDown.stable - callsBefore.stable} calls); legacy 503 once expired, back with Redis`,
      });
    } finally {
      client.disconnect();
    }
  });
});
