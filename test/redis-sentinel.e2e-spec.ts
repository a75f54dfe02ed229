import { getJson, postJson } from './support/http';
import { startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { startRedisSentinel, waitFor, type RedisSentinelHandle } from './support/redis-topologies';
import { reportFault } from './support/fault-report';

/*
 * wxhub on Redis Sentinel (password-protected master + replica, 3 sentinels, every process on loopback): two hub
 * processes with REDIS_SENTINELS keep answering token reads while the sentinels move the master, then write to
 * the new master.
 */

const PASSWORD = 'sentinel-e2e-pass-0001';
const KEY = 'sentinel-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };
const APP = 'wxsentinel00000001';
const SECRET = 'sentinelsecret0000000001';

type Hub = ChildHandle & { url: string; port: number };
type Sim = ChildHandle & { url: string };
interface TokenBody {
  access_token: string;
  version: number;
}
interface StoredRecord {
  value: string;
  version: number;
}

let redis: RedisSentinelHandle;
let sim: Sim;
let hubs: Hub[];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readToken(hub: Hub): Promise<TokenBody> {
  const response = await getJson<TokenBody>(`${hub.url}/api/v1/accounts/${APP}/token`, auth);
  if (response.status !== 200)
    throw new Error(`${hub.name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function tokenState(token: string): Promise<string> {
  const { body } = await getJson<{ state: string }>(
    `${sim.url}/sandbox/tokens/check?appid=${APP}&access_token=${encodeURIComponent(token)}`,
  );
  return body.state;
}

async function stored(port: number): Promise<StoredRecord | null> {
  const raw = await redis.node(port).get(`wxhub:{${APP}}:token`);
  return raw ? (JSON.parse(raw) as StoredRecord) : null;
}

beforeAll(async () => {
  [redis, sim] = await Promise.all([
    startRedisSentinel({ password: PASSWORD }),
    startSimulator({ SANDBOX_APPS: JSON.stringify([{ appId: APP, appSecret: SECRET }]) }),
  ]);
  const env = {
    WECHAT_SANDBOX: 'false',
    WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP, appSecret: SECRET }]),
    WECHAT_API_BASE_URL: sim.url,
    REDIS_SENTINELS: redis.sentinels,
    REDIS_SENTINEL_NAME: redis.name,
    REDIS_PASSWORD: PASSWORD,
    ADMIN_API_KEYS: KEY,
    LOG_LEVEL: 'warn',
  };
  hubs = await Promise.all([
    startHub(env, { name: 'sentinel-hub-a' }),
    startHub(env, { name: 'sentinel-hub-b' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
  await redis?.stop();
});

describe('wxhub on Redis Sentinel', () => {
  it('keeps answering valid tokens from both hubs through a SENTINEL FAILOVER, and the token survives on the new master', async () => {
    const before = await readToken(hubs[0]!);
    const oldMaster = await redis.masterPort();
    await waitFor('the token to reach the replica', async () => {
      const replica = redis.dataPorts.find((p) => p !== oldMaster)!;
      return (await stored(replica))?.version === before.version;
    });

    let stop = false;
    let served = 0;
    let errors = 0;
    const errorSamples: string[] = [];
    const tokens = new Set<string>();
    const reader = async (hub: Hub): Promise<void> => {
      while (!stop) {
        try {
          const token = await readToken(hub);
          served++;
          tokens.add(token.access_token);
        } catch (error) {
          errors++;
          if (errorSamples.length < 3) errorSamples.push((error as Error).message);
        }
        await sleep(10);
      }
    };
    const readers = Promise.all(hubs.map(reader));
    await sleep(500);
    const servedBefore = served;
    const failover = await redis.failover();
    // go on reading past the hubs' in-process trust (3 s), so reads must reach the store again
    await sleep(3500);
    stop = true;
    await readers;
    if (errorSamples.length) console.log(`read errors: ${errorSamples.join(' | ')}`);
    const invalid = (await Promise.all([...tokens].map(tokenState))).filter((s) => s !== 'valid').length;
    console.log(
      `sentinel failover ${failover.from} -> ${failover.to}: promoted in ${failover.promotedMs} ms; ` +
        `${served} reads (${served - servedBefore} from the failover on), ${tokens.size} token(s), ${invalid} invalid, ${errors} errors`,
    );
    expect(failover.to).not.toBe(oldMaster);
    expect(served - servedBefore).toBeGreaterThan(50);
    expect(errors).toBe(0);
    expect(invalid).toBe(0);
    expect([...tokens]).toEqual([before.access_token]);
    // no token was lost: the new master holds the same version
    expect(await stored(failover.to)).toMatchObject({ value: before.access_token, version: before.version });
    reportFault({
      scenario: 'Redis Sentinel failover (SENTINEL FAILOVER) under continuous reads from 2 hubs',
      invalidServed: invalid,
      callerErrors: errors,
      recoverySeconds: failover.promotedMs / 1000,
      note: `${served - servedBefore} reads from the failover on; the new master holds the same token version`,
    });
  });

  it('after the failover a rotation is written to the new master and reaches the other hub', async () => {
    const master = await redis.masterPort();
    const formerMaster = redis.dataPorts.find((p) => p !== master)!;
    // NOTE: the former master may still answer as a writable master here (the sentinels demote it later): the
    // write below must reach the new one all the same
    const formerRole = await redis.role(formerMaster);
    const old = await readToken(hubs[1]!);
    await postJson(`${sim.url}/sandbox/apps/${APP}/foreign-refresh`, { endpoint: 'stable' });
    expect(await tokenState(old.access_token)).toBe('invalid');

    const report = await postJson<TokenBody & { outcome: string }>(
      `${hubs[0]!.url}/api/v1/accounts/${APP}/token/invalid`,
      { access_token: old.access_token },
      auth,
    );
    expect(report.status).toBe(200);
    expect(report.body.outcome).toBe('refreshed');
    expect(report.body.version).toBe(old.version + 1);
    expect(await tokenState(report.body.access_token)).toBe('valid');
    expect(await stored(master)).toMatchObject({ value: report.body.access_token, version: old.version + 1 });

    // hub B had the old token in memory: the change message on the new master drops it at once
    const started = Date.now();
    let seen = await readToken(hubs[1]!);
    while (seen.access_token !== report.body.access_token && Date.now() - started < 3000) {
      await sleep(20);
      seen = await readToken(hubs[1]!);
    }
    console.log(
      `after failover (former master answering as ${formerRole}): hub B served the new token ${Date.now() - started} ms after hub A stored it`,
    );
    expect(seen.access_token).toBe(report.body.access_token);
    expect(Date.now() - started).toBeLessThan(1000);

    for (const hub of hubs) {
      const ready = await getJson<{ status: string }>(`${hub.url}/health/ready`);
      expect(ready.status).toBe(200);
    }
  });
});
