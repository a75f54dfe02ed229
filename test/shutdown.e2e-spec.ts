import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { pushXml, signPush } from '../src/sandbox/push-builder';
import { freePort } from './support/free-port';
import { getJson, postJson } from './support/http';
import { spawnNode, startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';
import { reportFault } from './support/fault-report';

/*
 * Graceful shutdown of real processes (redis-server, the simulator, hubs): SIGTERM releases the locks the
 * process holds at once, and a push whose handler is running still gets its reply before the process exits.
 */

const KEY = 'shutdown-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };
const LEASE_MS = 10_000;

type Hub = ChildHandle & { url: string };
type Sim = ChildHandle & { url: string };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let redis: RedisServerHandle;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe('SIGTERM while holding the refresh lock', () => {
  const APP = 'wxshutdown00000001';
  const SECRET = 'shutdownsecret00000000000000001';
  let sim: Sim;
  let hubs: Hub[];
  let client: Redis;

  beforeAll(async () => {
    sim = await startSimulator({ SANDBOX_APPS: JSON.stringify([{ appId: APP, appSecret: SECRET }]) });
    // the first token call of the cold account never answers: its lock holder sits mid-fetch
    await postJson(`${sim.url}/sandbox/faults`, { kind: 'hang', appId: APP, times: 1 });
    const env = {
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP, appSecret: SECRET }]),
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'shutdown',
      ADMIN_API_KEYS: KEY,
      TOKEN_LOCK_TTL_MS: String(LEASE_MS),
      // longer than the test: only the shutdown can end the hanging fetch
      UPSTREAM_TIMEOUT_MS: '30000',
    };
    hubs = await Promise.all([startHub(env, { name: 'hub-1' }), startHub(env, { name: 'hub-2' })]);
    client = redis.client();
  });

  afterAll(async () => {
    client?.disconnect();
    await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
  });

  it('releases the lock at once, exits 0, and another instance refreshes without waiting for the lease', async () => {
    const lockKey = `shutdown:{${APP}}:lock:token`;
    const owner = await waitFor('a lock holder', () => client.get(lockKey));
    const holder = hubs.find((h) => h.pid === Number(owner.split(':')[1]));
    expect(holder).toBeDefined();
    const survivor = hubs.find((h) => h !== holder)!;

    const sentAt = Date.now();
    holder!.signal('SIGTERM');
    await waitFor('the lock to be released', async () =>
      (await client.exists(lockKey)) === 0 ? true : null,
    );
    const releasedMs = Date.now() - sentAt;
    const exit = await holder!.exited;
    const exitedMs = Date.now() - sentAt;
    const token = await getJson<{ access_token: string }>(
      `${survivor.url}/api/v1/accounts/${APP}/token`,
      auth,
    );
    const servedMs = Date.now() - sentAt;
    console.log(
      `SIGTERM of the lock holder: lock released after ${releasedMs} ms, process exited after ${exitedMs} ms, ` +
        `the other hub served a fresh token after ${servedMs} ms (lease ${LEASE_MS} ms)`,
    );

    expect(releasedMs).toBeLessThan(1_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedMs).toBeLessThan(3_000);
    expect(holder!.output.some((line) => line.includes('releasing 1 held lock(s)'))).toBe(true);
    expect(token.status).toBe(200);
    const state = await getJson<{ state: string }>(
      `${sim.url}/sandbox/tokens/check?appid=${APP}&access_token=${encodeURIComponent(token.body.access_token)}`,
    );
    expect(state.body.state).toBe('valid');
    expect(servedMs).toBeLessThan(LEASE_MS / 2);
    reportFault({
      scenario: `SIGTERM to the refresh-lock holder mid-fetch (lease ${LEASE_MS / 1000} s)`,
      invalidServed: 0,
      callerErrors: 0,
      recoverySeconds: servedMs / 1000,
      note: `lock released after ${releasedMs} ms, exit 0; the other hub refreshed without waiting for the lease`,
    });
    hubs = hubs.filter((h) => h !== holder);
  });
});

describe('SIGTERM while a callback handler runs', () => {
  const ACCOUNT = {
    appId: 'wxshutdowncb000001',
    appSecret: 'shutdowncbsecret000000000001',
    token: 'shutdownCbToken',
    encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    messageMode: 'plain' as const,
  };
  let sim: Sim;
  let host: Hub;
  let logDir: string;
  let handlerLog: string;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'wxhub-shutdown-e2e-'));
    handlerLog = join(logDir, 'handlers.log');
    writeFileSync(handlerLog, '');
    sim = await startSimulator({
      SANDBOX_APPS: JSON.stringify([{ appId: ACCOUNT.appId, appSecret: ACCOUNT.appSecret }]),
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const handle = await spawnNode('test/fixtures/callback-host.js', {
      name: 'callback-host',
      env: {
        NODE_ENV: 'test',
        WECHAT_SANDBOX: 'false',
        WECHAT_ACCOUNTS: JSON.stringify([ACCOUNT]),
        WECHAT_API_BASE_URL: sim.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'shutdown-cb',
        LOG_LEVEL: 'warn',
        HANDLER_LOG: handlerLog,
        PORT: String(port),
      },
      timeoutMs: 30_000,
      probe: async () => (await fetch(`${url}/health`)).status === 200,
      probeIntervalMs: 100,
    });
    host = { ...handle, url };
  });

  afterAll(async () => {
    await Promise.all([host, sim].filter(Boolean).map((p) => terminate(p)));
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('a push whose handler is running when SIGTERM arrives still gets its reply, then the process exits 0', async () => {
    const msgId = String(Date.now());
    const signed = signPush(
      { ...ACCOUNT, encrypt: false },
      pushXml({ fromUser: 'o_shutdown_user', text: 'pause please', msgId }),
    );
    const started = Date.now();
    const answer = fetch(
      `${host.url}/wechat/${ACCOUNT.appId}?${new URLSearchParams(signed.query).toString()}`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: signed.body,
      },
    ).then(async (response) => ({ status: response.status, body: await response.text() }));

    // the handler logs its start before it sleeps 1 s: SIGTERM lands while it runs
    await waitFor('the handler to start', async () =>
      readFileSync(handlerLog, 'utf8').includes(` ${msgId} `) ? true : null,
    );
    host.signal('SIGTERM');
    const reply = await answer;
    const answeredMs = Date.now() - started;
    const exit = await host.exited;
    const exitedMs = Date.now() - started;
    console.log(
      `push during shutdown: answered after ${answeredMs} ms, the host exited after ${exitedMs} ms`,
    );

    expect(reply.status).toBe(200);
    expect(reply.body).toContain('paused reply to pause please');
    expect(answeredMs).toBeLessThan(4_500);
    expect(exit).toEqual({ code: 0, signal: null });
    // the answered connection does not hold the exit for the keep-alive timeout (72 s)
    expect(exitedMs - answeredMs).toBeLessThan(5_000);
    reportFault({
      scenario: 'SIGTERM while a callback handler runs',
      invalidServed: null,
      callerErrors: 0,
      recoverySeconds: null,
      note: `the push got its reply after ${answeredMs} ms; exit 0 after ${exitedMs} ms`,
    });
  });
});
