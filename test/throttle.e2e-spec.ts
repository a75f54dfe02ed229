import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { getJson, postJson, type HttpResponse } from './support/http';
import { startHub, startSimulator, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';

/*
 * Rate limits across a fleet: two hubs (dist/main.js) share one redis-server and the simulator. Limits are small and
 * the window is 3 s so a test can see a 429 and its end.
 */

type Hub = ChildHandle & { url: string };

const APP = 'wxthrottle00000001';
const SECRET = `S${randomBytes(16).toString('hex')}`;
const KEY1 = `throttle-key-one-${randomBytes(8).toString('hex')}`;
const KEY2 = `throttle-key-two-${randomBytes(8).toString('hex')}`;
const WINDOW_S = 3;
const INVALID_LIMIT = 5;
const FAILED_AUTH_LIMIT = 6;
const auth = (key: string, headers: Record<string, string> = {}): RequestInit => ({
  headers: { authorization: `Bearer ${key}`, ...headers },
});

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

describe('rate limits shared by two hubs', () => {
  let redis: RedisServerHandle;
  let sim: ChildHandle & { url: string };
  let hubs: Hub[];

  const report = (hub: Hub, key: string): Promise<HttpResponse<ErrorBody & { outcome?: string }>> =>
    postJson(`${hub.url}/api/v1/accounts/${APP}/token/invalid`, { access_token: 'stale' }, auth(key));

  async function metric(hub: Hub, name: string): Promise<number> {
    const text = (await getJson<string>(`${hub.url}/metrics`)).body;
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({ SANDBOX_APPS: JSON.stringify([{ appId: APP, appSecret: SECRET }]) });
    const env = {
      NODE_ENV: 'test',
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP, appSecret: SECRET }]),
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: redis.url,
      ADMIN_API_KEYS: `${KEY1},${KEY2}`,
      THROTTLE_WINDOW_SECONDS: String(WINDOW_S),
      THROTTLE_INVALID_REPORT_LIMIT: String(INVALID_LIMIT),
      THROTTLE_FAILED_AUTH_LIMIT: String(FAILED_AUTH_LIMIT),
      THROTTLE_RELOAD_LIMIT: '100',
      LOG_LEVEL: 'warn',
    };
    hubs = await Promise.all([startHub(env, { name: 'hub-a' }), startHub(env, { name: 'hub-b' })]);
  });

  it('one limit for the fleet: past it either hub answers 429 with Retry-After, other keys pass, and it ends with the window', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < INVALID_LIMIT; i++) statuses.push((await report(hubs[i % 2]!, KEY1)).status);
    expect(statuses).toEqual(Array(INVALID_LIMIT).fill(200));
    const refusedAt = Date.now();
    for (const hub of hubs) {
      const refused = await report(hub, KEY1);
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(
          /^too many invalid-token reports from key#[0-9a-f]{8}: at most 5 per 3 s; retry in \d s$/,
        ),
      });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
    }
    expect((await report(hubs[1]!, KEY2)).status).toBe(200); // counted per API key
    expect(await metric(hubs[0]!, 'wxhub_throttled_total{limit="invalid-report"}')).toBe(1);

    await delay(WINDOW_S * 1000 - (Date.now() - refusedAt) + 300);
    expect((await report(hubs[1]!, KEY1)).status).toBe(200);
  });

  it('token reads are never limited: 2000 reads through the admin API and the drop-ins, on both hubs, all answered', async () => {
    // KEY1's invalid-report limit is spent again: its reads must not care
    const spent: number[] = [];
    for (let i = 0; i <= INVALID_LIMIT; i++) spent.push((await report(hubs[0]!, KEY1)).status);
    expect(spent.at(-1)).toBe(429);
    const started = Date.now();
    const statuses = new Map<number, number>();
    const read = async (i: number): Promise<void> => {
      const hub = hubs[i % 2]!;
      const response =
        i % 4 < 2
          ? await getJson(`${hub.url}/api/v1/accounts/${APP}/token`, auth(KEY1))
          : await getJson(
              `${hub.url}/cgi-bin/token?grant_type=client_credential&appid=${APP}&secret=${SECRET}`,
            );
      const ok =
        response.status === 200 &&
        typeof (response.body as { access_token?: unknown }).access_token === 'string';
      const status = ok ? 200 : response.status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    };
    for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => read(i + j)));
    const seconds = (Date.now() - started) / 1000;
    expect(Object.fromEntries(statuses)).toEqual({ 200: 2000 });
    console.log(
      `2000 token reads in ${seconds.toFixed(2)} s (${Math.round(2000 / seconds)}/s), none limited`,
    );
    expect(await metric(hubs[0]!, 'wxhub_throttled_total{limit="invalid-report"}')).toBeGreaterThanOrEqual(2);
  });

  it('an SDK force_refresh is limited per client with WeChat-shaped 45011, while its plain token reads go on', async () => {
    const force = (
      hub: Hub,
    ): Promise<HttpResponse<{ access_token?: string; errcode?: number; errmsg?: string }>> =>
      postJson(`${hub.url}/cgi-bin/stable_token`, {
        grant_type: 'client_credential',
        appid: APP,
        secret: SECRET,
        force_refresh: true,
      });
    for (let i = 0; i < INVALID_LIMIT; i++)
      expect((await force(hubs[i % 2]!)).body.access_token).toBeDefined();
    const refused = await force(hubs[0]!);
    expect(refused.status).toBe(200);
    expect(refused.body).toEqual({
      errcode: 45011,
      errmsg: expect.stringMatching(/^api minute-quota reach limit, must slower, retry in \d s/),
    });
    const plain = await postJson<{ access_token?: string }>(`${hubs[1]!.url}/cgi-bin/stable_token`, {
      grant_type: 'client_credential',
      appid: APP,
      secret: SECRET,
    });
    expect(plain.body.access_token).toEqual(expect.any(String));
  });

  it('with Redis paused, limited operations still go through (the limits fail open) and the misses are counted', async () => {
    await delay(WINDOW_S * 1000);
    redis.pause();
    try {
      const started = Date.now();
      const reloads: number[] = [];
      for (let i = 0; i < 3; i++)
        reloads.push((await postJson(`${hubs[0]!.url}/api/v1/accounts/reload`, {}, auth(KEY1))).status);
      expect(reloads).toEqual([200, 200, 200]);
      // one Redis timeout (1 s), then the limits count in memory without asking Redis for a while
      expect(Date.now() - started).toBeLessThan(2_500);
      const reads = await Promise.all(
        hubs.map((hub) => getJson(`${hub.url}/api/v1/accounts/${APP}/token`, auth(KEY2))),
      );
      expect(reads.map((r) => r.status)).toEqual([200, 200]);
      const auditRead = await getJson<ErrorBody>(`${hubs[1]!.url}/api/v1/audit`, auth(KEY2));
      expect(auditRead.status).toBe(503);
      expect(auditRead.body.message).toMatch(/^the audit log cannot be read now/);
      await delay(1_200); // the unanswered audit writes time out
      expect(await metric(hubs[0]!, 'wxhub_throttle_store_failures_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(hubs[0]!, 'wxhub_audit_write_failures_total')).toBeGreaterThanOrEqual(1);
    } finally {
      redis.resume();
    }
  });

  it('failed authentications are limited per address across hubs; X-Forwarded-For from an untrusted peer does not dodge it', async () => {
    await delay(WINDOW_S * 1000);
    const unauthorized: number[] = [];
    let blockedAt = -1;
    for (let i = 0; i < FAILED_AUTH_LIMIT + hubs.length + 2; i++) {
      const response = await getJson(
        `${hubs[i % 2]!.url}/api/v1/accounts`,
        auth('wrong-key-0000000000000', { 'x-forwarded-for': `203.0.113.${i + 1}` }),
      );
      if (response.status === 401) unauthorized.push(i);
      else {
        expect(response.status).toBe(429);
        if (blockedAt < 0) blockedAt = i;
      }
      await delay(20); // the shared count is updated asynchronously
    }
    // at most N-1 extra attempts across N instances
    expect(unauthorized.length).toBeGreaterThanOrEqual(FAILED_AUTH_LIMIT);
    expect(unauthorized.length).toBeLessThanOrEqual(FAILED_AUTH_LIMIT + hubs.length - 1);
    // blocked on both hubs, even with the right key, with the time to wait
    for (const hub of hubs) {
      const blocked = await getJson(`${hub.url}/api/v1/accounts`, auth(KEY1));
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    }
    // the drop-ins count their own failures: wrong API keys do not stop the SDKs of that address
    const sdk = await getJson<{ errcode?: number; access_token?: string }>(
      `${hubs[0]!.url}/cgi-bin/token?grant_type=client_credential&appid=${APP}&secret=${SECRET}`,
    );
    expect(sdk.body.errcode).toBeUndefined();
    expect(sdk.body.access_token).toEqual(expect.any(String));
    for (const hub of hubs)
      expect(await metric(hub, 'wxhub_throttled_total{limit="failed-auth"}')).toBeGreaterThanOrEqual(1);

    await delay(WINDOW_S * 1000 + 300);
    for (const hub of hubs)
      expect((await getJson(`${hub.url}/api/v1/accounts`, auth(KEY1))).status).toBe(200);
  });
});
