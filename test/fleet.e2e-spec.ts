import type { Redis } from 'ioredis';
import { getJson, postJson } from './support/http';
import { startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { reportFault } from './support/fault-report';
import { startRedis, type RedisServerHandle } from './support/redis-server';

/**
 * A real fleet: 4 hub processes sharing one redis-server, against the simulator in its own process.
 * Each scenario uses its own account so their upstream counters do not mix.
 */

const KEY = 'fleet-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };

function appId(n: number): string {
  return `wxfleet${String(n).padStart(11, '0')}`;
}
const secretOf = (id: string): string => `secret${id.slice(2)}0000000000`;

interface SimStats {
  forceCalls: number;
  byApp: Record<
    string,
    { token: number; stableToken: number; stableTokenForce: number; business: number; tokensIssued: number }
  >;
}
interface TokenBody {
  access_token: string;
  expires_in: number;
  version: number;
  outcome?: string;
}
type Hub = ChildHandle & { url: string; port: number };
type Sim = ChildHandle & { url: string };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function stats(sim: Sim): Promise<SimStats> {
  return (await getJson<SimStats>(`${sim.url}/sandbox/stats`)).body;
}

async function tokenState(sim: Sim, id: string, token: string): Promise<string> {
  const { body } = await getJson<{ state: string }>(
    `${sim.url}/sandbox/tokens/check?appid=${id}&access_token=${encodeURIComponent(token)}`,
  );
  return body.state;
}

async function readToken(hub: Hub, id: string): Promise<TokenBody> {
  const response = await getJson<TokenBody>(`${hub.url}/api/v1/accounts/${id}/token`, auth);
  if (response.status !== 200)
    throw new Error(`${hub.name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function startFleet(count: number, env: Record<string, string>): Promise<Hub[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startHub(env, { name: `hub-${i + 1}` })));
}

let redis: RedisServerHandle;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe('a fleet of 4 hubs with long-lived tokens', () => {
  const accounts = [1, 2, 3].map(appId);
  const [COLD, STORM, CRASH] = accounts as [string, string, string];
  let sim: Sim;
  let hubs: Hub[];
  let client: Redis;

  beforeAll(async () => {
    sim = await startSimulator({
      SANDBOX_APPS: JSON.stringify(accounts.map((id) => ({ appId: id, appSecret: secretOf(id) }))),
    });
    // the first token call of COLD is slow, so the readers below arrive while it is in flight
    await postJson(`${sim.url}/sandbox/faults`, { kind: 'latency', latencyMs: 4000, appId: COLD, times: 1 });
    // the first token call of CRASH never answers: its lock holder will be killed mid-fetch
    await postJson(`${sim.url}/sandbox/faults`, { kind: 'hang', appId: CRASH, times: 1 });
    hubs = await startFleet(4, {
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify(accounts.map((id) => ({ appId: id, appSecret: secretOf(id) }))),
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'fleet-a',
      ADMIN_API_KEYS: KEY,
      TOKEN_LOCK_TTL_MS: '3000',
      UPSTREAM_TIMEOUT_MS: '8000',
    });
    client = redis.client();
  });

  afterAll(async () => {
    client?.disconnect();
    await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
  });

  it('400 concurrent reads from cold across 4 processes cause exactly 1 upstream call and all get one valid token', async () => {
    const reads = await Promise.all(Array.from({ length: 400 }, (_, i) => readToken(hubs[i % 4]!, COLD)));
    const values = new Set(reads.map((r) => r.access_token));
    expect(values.size).toBe(1);
    expect(await tokenState(sim, COLD, reads[0]!.access_token)).toBe('valid');
    expect((await stats(sim)).byApp[COLD]!.stableToken).toBe(1);
  });

  it('200 concurrent reports of one dead token cost at most 1 upstream call and no force refresh', async () => {
    const old = (await readToken(hubs[0]!, STORM)).access_token;
    await postJson(`${sim.url}/sandbox/apps/${STORM}/foreign-refresh`, { endpoint: 'stable' });
    expect(await tokenState(sim, STORM, old)).toBe('invalid');
    const before = (await stats(sim)).byApp[STORM]!;

    const stormStarted = Date.now();
    const reports = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        postJson<TokenBody>(
          `${hubs[i % 4]!.url}/api/v1/accounts/${STORM}/token/invalid`,
          { access_token: old },
          auth,
        ),
      ),
    );
    const stormEnded = Date.now();
    expect(reports.every((r) => r.status === 200)).toBe(true);
    const fresh = new Set(reports.map((r) => r.body.access_token));
    expect(fresh.size).toBe(1);
    const [value] = [...fresh];
    expect(value).not.toBe(old);
    expect(await tokenState(sim, STORM, value!)).toBe('valid');
    const after = (await stats(sim)).byApp[STORM]!;
    expect(after.stableToken - before.stableToken).toBeLessThanOrEqual(1);
    expect(after.stableTokenForce).toBe(0);

    // a late report of the old token changes nothing
    const late = await postJson<TokenBody>(
      `${hubs[3]!.url}/api/v1/accounts/${STORM}/token/invalid`,
      { access_token: old },
      auth,
    );
    expect(late.body).toMatchObject({ access_token: value, outcome: 'stale-report' });
    expect((await stats(sim)).byApp[STORM]!.stableToken).toBe(after.stableToken);

    // a false report of the live token does not force anything
    const falseReport = await postJson<TokenBody>(
      `${hubs[2]!.url}/api/v1/accounts/${STORM}/token/invalid`,
      { access_token: value },
      auth,
    );
    expect(falseReport.body).toMatchObject({ access_token: value, outcome: 'false-report' });
    expect((await stats(sim)).forceCalls).toBe(0);
    reportFault({
      scenario: 'invalid-report storm: 200 reports of a dead token across 4 hubs',
      invalidServed: 0,
      callerErrors: reports.filter((r) => r.status !== 200).length,
      recoverySeconds: (stormEnded - stormStarted) / 1000,
      note: `${after.stableToken - before.stableToken} upstream call, 0 force; late and false reports change nothing`,
    });
  });

  it('when the lock holder is killed mid-fetch, another process serves a valid token within the lease', async () => {
    const lockKey = `fleet-a:{${CRASH}}:lock:token`;
    let owner: string | null = null;
    const deadline = Date.now() + 10_000;
    while (!owner && Date.now() < deadline) {
      owner = await client.get(lockKey);
      if (!owner) await sleep(50);
    }
    expect(owner).not.toBeNull();
    const holderPid = Number(owner!.split(':')[1]);
    const holder = hubs.find((h) => h.pid === holderPid);
    expect(holder).toBeDefined();
    const survivor = hubs.find((h) => h !== holder)!;

    holder!.signal('SIGKILL');
    const killedAt = Date.now();
    const token = await readToken(survivor, CRASH);
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    console.log(`lock-holder crash: recovered in ${recoverySeconds.toFixed(2)} s (lease 3 s)`);

    expect(await tokenState(sim, CRASH, token.access_token)).toBe('valid');
    expect(recoverySeconds).toBeLessThan(3 + 1.5);
    reportFault({
      scenario: 'refresh-lock holder SIGKILLed mid-fetch (lease 3 s)',
      invalidServed: 0,
      callerErrors: 0,
      recoverySeconds,
      note: 'another hub took over once the lease ran out and served a valid token',
    });
    await holder!.exited;
    hubs = hubs.filter((h) => h !== holder);
  });
});

describe('a fleet of 4 hubs across rotations of 30-second tokens', () => {
  const ROTATE = appId(10);
  const LIFETIME = 30;
  const OVERLAP = 10;
  const AHEAD = 8;
  let sim: Sim;
  let hubs: Hub[];

  beforeAll(async () => {
    sim = await startSimulator({
      SANDBOX_APPS: JSON.stringify([{ appId: ROTATE, appSecret: secretOf(ROTATE) }]),
      SANDBOX_TOKEN_LIFETIME_SECONDS: String(LIFETIME),
      SANDBOX_OVERLAP_SECONDS: String(OVERLAP),
    });
    hubs = await startFleet(4, {
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: ROTATE, appSecret: secretOf(ROTATE) }]),
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'fleet-b',
      ADMIN_API_KEYS: KEY,
      TOKEN_REFRESH_AHEAD_SECONDS: String(AHEAD),
      TOKEN_LOCK_TTL_MS: '3000',
    });
  });

  afterAll(async () => {
    await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
  });

  /** Reads through every hub until `ms` pass; each token served is checked at WeChat right away. */
  async function readContinuously(
    ms: number,
    during?: () => Promise<void>,
  ): Promise<{ served: number; invalid: number; errors: number; tokens: Set<string> }> {
    const until = Date.now() + ms;
    const tokens = new Set<string>();
    let served = 0;
    let invalid = 0;
    let errors = 0;
    const errorSamples: string[] = [];
    const reader = async (hub: Hub): Promise<void> => {
      while (Date.now() < until) {
        try {
          const { access_token: token } = await readToken(hub, ROTATE);
          served++;
          tokens.add(token);
          if ((await tokenState(sim, ROTATE, token)) !== 'valid') invalid++;
        } catch (error) {
          errors++;
          if (errorSamples.length < 3) errorSamples.push((error as Error).message);
        }
        await sleep(40);
      }
    };
    await Promise.all([...hubs.map(reader), during?.()]);
    if (errorSamples.length) console.log(`read errors: ${errorSamples.join(' | ')}`);
    return { served, invalid, errors, tokens };
  }

  it('serves 0 invalid tokens for 60 s of continuous reads, with one upstream call per rotation', async () => {
    const before = (await stats(sim)).byApp[ROTATE]!;
    const started = Date.now();
    const result = await readContinuously(62_000);
    const elapsed = (Date.now() - started) / 1000;
    const after = (await stats(sim)).byApp[ROTATE]!;
    const calls = after.stableToken - before.stableToken;
    // WeChat cannot rotate a stable token sooner than every LIFETIME - OVERLAP seconds
    const minimum = Math.ceil(elapsed / LIFETIME);
    console.log(
      `rotation run: ${elapsed.toFixed(1)} s, ${result.served} reads, ${result.tokens.size} tokens, ${calls} upstream calls (theoretical minimum ${minimum}), ${result.invalid} invalid, ${result.errors} errors`,
    );
    expect(result.invalid).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.tokens.size).toBeGreaterThanOrEqual(3);
    // every upstream call produced a token that was served (no duplicate calls), and at most one beyond the minimum
    expect(calls).toBeLessThanOrEqual(result.tokens.size);
    expect(calls).toBeLessThanOrEqual(minimum + 1);
    expect(after.stableTokenForce).toBe(0);
  });

  it('keeps answering valid tokens while Redis is paused for 10 s, and recovers after', async () => {
    // start right after a rotation so the current token outlives the pause
    const version = (await readToken(hubs[0]!, ROTATE)).version;
    while ((await readToken(hubs[0]!, ROTATE)).version === version) await sleep(200);
    redis.pause();
    let result;
    try {
      result = await readContinuously(10_000);
    } finally {
      redis.resume();
    }
    console.log(
      `redis paused 10 s: ${result.served} reads, ${result.invalid} invalid, ${result.errors} errors`,
    );
    expect(result.served).toBeGreaterThan(20);
    expect(result.invalid).toBe(0);
    expect(result.errors).toBe(0);
    const afterwards = await readContinuously(LIFETIME * 1000);
    expect(afterwards.invalid).toBe(0);
    expect(afterwards.errors).toBe(0);
    expect(afterwards.tokens.size).toBeGreaterThanOrEqual(2); // it rotated again once Redis was back
    reportFault({
      scenario: 'Redis paused (SIGSTOP) for 10 s under continuous reads from 4 hubs',
      invalidServed: result.invalid + afterwards.invalid,
      callerErrors: result.errors + afterwards.errors,
      recoverySeconds: null,
      note: `${result.served} reads during the pause; rotated normally after it`,
    });
  });

  it('keeps serving the current token while WeChat is busy through the refresh window, and refreshes on recovery', async () => {
    const version = (await readToken(hubs[0]!, ROTATE)).version;
    while ((await readToken(hubs[0]!, ROTATE)).version === version) await sleep(200);
    const current = await readToken(hubs[0]!, ROTATE);
    await postJson(`${sim.url}/sandbox/faults`, { kind: 'busy', paths: ['/cgi-bin/stable_token'] });
    const busyFor = (current.expires_in - AHEAD + 3) * 1000; // well into the refresh window
    const during = await readContinuously(busyFor);
    expect([...during.tokens]).toEqual([current.access_token]);
    expect(during.invalid).toBe(0);
    expect(during.errors).toBe(0);
    const attempts = (await stats(sim)).byApp[ROTATE]!.stableToken;

    await getJson(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    const recoveredAt = Date.now();
    let fresh = current;
    while (fresh.access_token === current.access_token && Date.now() - recoveredAt < 5000) {
      await sleep(100);
      fresh = await readToken(hubs[1]!, ROTATE);
    }
    console.log(
      `WeChat busy ${(busyFor / 1000).toFixed(0)} s through the refresh window: new token ${((Date.now() - recoveredAt) / 1000).toFixed(1)} s after recovery; ${during.served} reads served, 0 invalid`,
    );
    const recoverySeconds = (Date.now() - recoveredAt) / 1000;
    expect(fresh.access_token).not.toBe(current.access_token);
    expect(await tokenState(sim, ROTATE, fresh.access_token)).toBe('valid');
    expect(attempts).toBeGreaterThan(0);
    reportFault({
      scenario: `WeChat busy (-1) for ${(busyFor / 1000).toFixed(0)} s through the refresh window`,
      invalidServed: during.invalid,
      callerErrors: during.errors,
      recoverySeconds,
      note: `${during.served} reads kept the current token; new token after WeChat recovered`,
    });
  });
});
