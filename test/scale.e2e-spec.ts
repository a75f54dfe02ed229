import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { getJson, postJson } from './support/http';
import { startHub, startSimulator, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';

/*
 * Many accounts, two hubs, one real redis-server: a /metrics scrape and a /health/ready probe cost O(1) Redis
 * commands (INFO commandstats deltas), not one or two per account, and the force budget one hub spends shows on
 * the other hub's gauge.
 */

const N = 300;
const KEY = 'scale-e2e-admin-key-000000000001';
const auth = { headers: { authorization: `Bearer ${KEY}` } };
type Hub = ChildHandle & { url: string; port: number };
type Sim = ChildHandle & { url: string };

const apps = Array.from({ length: N }, (_, i) => ({
  appId: `wxscalee2e${String(i).padStart(8, '0')}`,
  appSecret: `scalee2esecret${String(i).padStart(18, '0')}`,
}));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function commands(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') total += Number(m[2]);
  return total;
}

/** Redis commands while `action` runs, fewest of three tries (a refresh by the scheduler may fall in one). */
async function commandsOf(client: Redis, action: () => Promise<void>): Promise<number> {
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = await commands(client);
    await action();
    counts.push((await commands(client)) - before);
  }
  return Math.min(...counts);
}

function gauge(text: string, name: string, appId: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{app_id="${appId}"}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

let redis: RedisServerHandle;
let client: Redis;
let sim: Sim;
let hubs: Hub[];
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  sim = await startSimulator({ SANDBOX_APPS: JSON.stringify(apps) }, { name: 'sim-scale' });
  dir = mkdtempSync(join(tmpdir(), 'wxhub-scale-'));
  const file = join(dir, 'accounts.json');
  writeFileSync(file, JSON.stringify(apps.map((a) => ({ ...a, tokenEndpoint: 'stable' }))));
  const env = {
    WECHAT_SANDBOX: 'false',
    WECHAT_ACCOUNTS_FILE: file,
    WECHAT_API_BASE_URL: sim.url,
    REDIS_URL: redis.url,
    ADMIN_API_KEYS: KEY,
    LOG_LEVEL: 'warn',
  };
  hubs = await Promise.all([1, 2].map((i) => startHub(env, { name: `hub-scale-${i}` })));
  // ready answers 200 while tokens are still being fetched ("live or getting one"): wait for every one live
  const allLive = async (hub: Hub): Promise<boolean> => {
    const { body } = await getJson<{ accounts?: Record<string, string> }>(`${hub.url}/health`, auth);
    return Object.values(body.accounts ?? {}).filter((s) => s === 'live').length === N;
  };
  for (const hub of hubs) for (let i = 0; i < 600 && !(await allLive(hub)); i++) await sleep(100);
}, 90_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`${N} accounts on two hubs sharing one Redis`, () => {
  it('fetched every token once across the fleet, and both hubs are ready', async () => {
    const stats = (await getJson<{ calls: Record<string, number> }>(`${sim.url}/sandbox/stats`)).body;
    // a few accounts may be fetched by both hubs' double checks racing, never one per hub
    expect(stats.calls['/cgi-bin/stable_token']).toBeGreaterThanOrEqual(N);
    expect(stats.calls['/cgi-bin/stable_token']).toBeLessThan(N * 1.1);
    for (const hub of hubs) expect((await getJson(`${hub.url}/health/ready`)).status).toBe(200);
  });

  it('answers a /health/ready probe and a /health report with O(1) Redis commands', async () => {
    for (const path of ['/health/ready', '/health']) {
      const used = await commandsOf(client, async () => {
        const response = await getJson<{ accounts?: Record<string, string> }>(`${hubs[0]!.url}${path}`, auth);
        expect(response.status).toBe(200);
      });
      // the store ping; before, one GET per account (300) on every probe
      expect(used).toBeLessThanOrEqual(2);
    }
  });

  it('answers a /metrics scrape with O(1) Redis commands, with a gauge for every account', async () => {
    let text = '';
    const used = await commandsOf(client, async () => {
      const response = await fetch(`${hubs[1]!.url}/metrics`);
      expect(response.status).toBe(200);
      text = await response.text();
    });
    // before: a GET and an HGETALL per account (600) on every scrape
    expect(used).toBeLessThanOrEqual(2);
    for (const app of [apps[0]!, apps[N - 1]!]) {
      expect(gauge(text, 'wxhub_token_seconds_left', app.appId)).toBeGreaterThan(7000);
      expect(gauge(text, 'wxhub_force_refresh_budget_left', app.appId)).toBe(20);
    }
  });

  it("shows a force refresh spent on one hub in the other hub's budget gauge", async () => {
    const forced = apps[7]!.appId;
    const response = await postJson<{ version: number }>(
      `${hubs[0]!.url}/api/v1/accounts/${forced}/token/refresh`,
      {},
      auth,
    );
    expect(response.status).toBe(200);
    let left: number | undefined;
    for (let i = 0; i < 50; i++) {
      left = gauge(
        await (await fetch(`${hubs[1]!.url}/metrics`)).text(),
        'wxhub_force_refresh_budget_left',
        forced,
      );
      if (left === 19) break;
      await sleep(100);
    }
    expect(left).toBe(19);
    // and the next scrape is back to O(1)
    const used = await commandsOf(client, async () => {
      await (await fetch(`${hubs[1]!.url}/metrics`)).text();
    });
    expect(used).toBeLessThanOrEqual(2);
    // the operator's list stays exact
    const list = await getJson<{ accounts: { appId: string; forceRefreshBudgetLeft: number }[] }>(
      `${hubs[1]!.url}/api/v1/accounts`,
      auth,
    );
    expect(list.body.accounts.find((a) => a.appId === forced)?.forceRefreshBudgetLeft).toBe(19);
  });
});
