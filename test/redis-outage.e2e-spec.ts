import { Redis } from 'ioredis';
import { freePort } from './support/free-port';
import { getJson, postJson } from './support/http';
import { startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';
import { reportFault } from './support/fault-report';

const APP = 'wxoutage0000000001';
const SECRET = 'outagesecret000000000000000001';
const KEY = 'outage-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Redis down, then back empty', () => {
  let port: number;
  let redis: RedisServerHandle;
  let sim: ChildHandle & { url: string };
  let hub: ChildHandle & { url: string };

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis({ port });
    sim = await startSimulator({ SANDBOX_APPS: JSON.stringify([{ appId: APP, appSecret: SECRET }]) });
    hub = await startHub({
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP, appSecret: SECRET }]),
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      ADMIN_API_KEYS: KEY,
    });
  });

  afterAll(async () => {
    await Promise.all([hub, sim].filter(Boolean).map((p) => terminate(p)));
    await redis?.stop();
  });

  it('keeps serving the known token while Redis is down, reports it, and restores the token when Redis returns empty', async () => {
    const before = await getJson<{ access_token: string; version: number }>(
      `${hub.url}/api/v1/accounts/${APP}/token`,
      auth,
    );
    expect(before.status).toBe(200);
    const token = before.body.access_token;

    await redis.stop();
    const readsWhileDown: number[] = [];
    for (let i = 0; i < 20; i++) {
      const read = await getJson<{ access_token: string }>(`${hub.url}/api/v1/accounts/${APP}/token`, auth);
      readsWhileDown.push(read.status);
      expect(read.body.access_token).toBe(token);
      await sleep(150);
    }
    expect(readsWhileDown.every((s) => s === 200)).toBe(true);
    const health = await getJson<{ store: { status: string } }>(`${hub.url}/health`, auth);
    expect(health.status).toBe(503);
    expect(health.body.store.status).toBe('down');
    // a forced refresh cannot be coordinated without the store: refused cleanly, nothing crashes
    const forced = await postJson(`${hub.url}/api/v1/accounts/${APP}/token/refresh`, {}, auth);
    expect(forced.status).toBe(503);

    redis = await startRedis({ port });
    const backAt = Date.now();
    const client = new Redis(port, '127.0.0.1');
    try {
      let restored: string | null = null;
      const deadline = Date.now() + 15_000;
      while (!restored && Date.now() < deadline) {
        // a read after the store answers again finds it empty and writes the live token back
        await getJson(`${hub.url}/api/v1/accounts/${APP}/token`, auth);
        restored = await client.get(`wxhub:{${APP}}:token`);
        if (!restored) await sleep(300);
      }
      expect(restored).not.toBeNull();
      expect(JSON.parse(restored!)).toMatchObject({ value: token, version: before.body.version });
      expect((await getJson(`${hub.url}/health`)).status).toBe(200);
      const after = await getJson<{ access_token: string }>(`${hub.url}/api/v1/accounts/${APP}/token`, auth);
      expect(after.body.access_token).toBe(token);
      const stats = await getJson<{ byApp: Record<string, { stableToken: number }> }>(
        `${sim.url}/sandbox/stats`,
      );
      expect(stats.body.byApp[APP]!.stableToken).toBe(1); // no token was lost, so none had to be fetched again
      reportFault({
        scenario: 'Redis stopped, then back empty',
        invalidServed: 0,
        callerErrors: readsWhileDown.filter((status) => status !== 200).length,
        recoverySeconds: (Date.now() - backAt) / 1000,
        note: 'reads kept the known token; /health 503 meanwhile; token written back with 0 upstream calls',
      });
    } finally {
      client.disconnect();
    }
  });
});
