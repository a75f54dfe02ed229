import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushXml, signPush } from '../src/sandbox/push-builder';
import { getJson, postJson } from './support/http';
import { type ChildHandle, startCallbackHost, startSimulator, terminate } from './support/processes';
import { startRedisCluster, waitFor, type RedisClusterHandle } from './support/redis-topologies';
import { reportFault } from './support/fault-report';

/*
 * wxhub on a real 3-master Redis Cluster (password-protected, every process on loopback): two hub processes
 * (test/fixtures/callback-host.js: the whole service plus decorated handlers that log their runs) with
 * REDIS_CLUSTER_NODES, and the WeChat simulator. The accounts are picked so that their `{appId}` slots sit on
 * different masters: every script, lock, counter and dedupe key has to work wherever its slot lives.
 */

const PASSWORD = 'cluster-e2e-pass-0001';
const KEY = 'cluster-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };
const CALLBACK_TOKEN = 'clusterCbToken1';

type Hub = ChildHandle & { url: string };
type Sim = ChildHandle & { url: string };
interface TokenBody {
  access_token: string;
  version: number;
  outcome?: string;
}
interface AppStats {
  token: number;
  stableToken: number;
  stableTokenForce: number;
}
interface AccountState {
  appId: string;
  version: number;
  upstreamCallsToday: { token: number; stableToken: number; stableTokenForce: number; probes: number };
  forceRefreshBudgetLeft: number;
}

const secretOf = (id: string): string => `secret${id.slice(2)}00000000`;

let cluster: RedisClusterHandle;
let sim: Sim;
let hubs: Hub[];
let accounts: string[];
/** account → port of the master serving its slot */
const masterOf = new Map<string, number>();
let logDir: string;
let handlerLog: string;

async function readToken(hub: Hub, id: string): Promise<TokenBody> {
  const response = await getJson<TokenBody>(`${hub.url}/api/v1/accounts/${id}/token`, auth);
  if (response.status !== 200)
    throw new Error(`${hub.name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function simStats(id: string): Promise<AppStats> {
  return (await getJson<{ byApp: Record<string, AppStats> }>(`${sim.url}/sandbox/stats`)).body.byApp[id]!;
}

async function tokenState(id: string, token: string): Promise<string> {
  const { body } = await getJson<{ state: string }>(
    `${sim.url}/sandbox/tokens/check?appid=${id}&access_token=${encodeURIComponent(token)}`,
  );
  return body.state;
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, password: PASSWORD });
  // pick accounts until every master serves at least one of them (and one extra)
  accounts = [];
  const covered = new Set<number>();
  for (let n = 1; n < 200 && (covered.size < 3 || accounts.length < 4); n++) {
    const id = `wxclus${String(n).padStart(12, '0')}`;
    const port = await cluster.masterOf(`wxhub:{${id}}:token`);
    if (covered.has(port) && covered.size < 3) continue;
    covered.add(port);
    masterOf.set(id, port);
    accounts.push(id);
  }
  logDir = mkdtempSync(join(tmpdir(), 'wxhub-cluster-e2e-'));
  handlerLog = join(logDir, 'handlers.log');
  writeFileSync(handlerLog, '');
  sim = await startSimulator({
    SANDBOX_APPS: JSON.stringify(accounts.map((appId) => ({ appId, appSecret: secretOf(appId) }))),
  });
  const env = {
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    WECHAT_ACCOUNTS: JSON.stringify(
      accounts.map((appId) => ({ appId, appSecret: secretOf(appId), token: CALLBACK_TOKEN })),
    ),
    WECHAT_API_BASE_URL: sim.url,
    REDIS_CLUSTER_NODES: cluster.seeds,
    REDIS_PASSWORD: PASSWORD,
    ADMIN_API_KEYS: KEY,
    LOG_LEVEL: 'warn',
    HANDLER_LOG: handlerLog,
  };
  // started together: both want every account's token at boot, so the lease locks are contended from the start
  hubs = await Promise.all([
    startCallbackHost(env, { name: 'cluster-hub-a' }),
    startCallbackHost(env, { name: 'cluster-hub-b' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
  await cluster?.stop();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

/**
 * Reads the accounts' tokens round-robin from every hub, one read per hub every 20 ms, until stop(): how many were
 * served, how many failed, how many were not the expected token (errors sampled to the log).
 */
function readContinuously(expected: (appId: string) => string): {
  tally: { served: number; errors: number; wrong: number };
  stop(): Promise<{ served: number; errors: number; wrong: number }>;
} {
  const tally = { served: 0, errors: 0, wrong: 0 };
  const samples: string[] = [];
  let stopped = false;
  const reader = async (hub: Hub): Promise<void> => {
    for (let i = 0; !stopped; i++) {
      const id = accounts[i % accounts.length]!;
      try {
        if ((await readToken(hub, id)).access_token !== expected(id)) tally.wrong++;
        tally.served++;
      } catch (error) {
        tally.errors++;
        if (samples.length < 3) samples.push((error as Error).message);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const readers = Promise.all(hubs.map(reader));
  return {
    tally,
    stop: async () => {
      stopped = true;
      await readers;
      if (samples.length) console.log(`read errors: ${samples.join(' | ')}`);
      return { ...tally };
    },
  };
}

describe('wxhub on a 3-master Redis Cluster', () => {
  it('the accounts keys sit on every master, each account in one slot', async () => {
    const byNode = new Map<number, string[]>();
    for (const port of cluster.ports) byNode.set(port, await cluster.node(port).keys('wxhub:*'));
    const holders = [...byNode.entries()].filter(([, keys]) => keys.some((k) => k.endsWith(':token')));
    console.log(
      `cluster: ${accounts.length} accounts; keys per master ${[...byNode.entries()].map(([p, k]) => `${p}=${k.length}`).join(', ')}`,
    );
    expect(holders.length).toBeGreaterThanOrEqual(2);
    for (const id of accounts) {
      const mine = [...byNode.entries()].filter(([, keys]) => keys.some((k) => k.includes(`{${id}}`)));
      // the token record and its daily counters, together on the master that serves the account's slot
      expect(mine.map(([port]) => port)).toEqual([masterOf.get(id)]);
      expect(mine[0]![1].filter((k) => k.includes(`{${id}}`)).sort()).toEqual(
        expect.arrayContaining([
          `wxhub:{${id}}:token`,
          expect.stringMatching(`^wxhub:\\{${id}\\}:counters:\\d{8}$`),
        ]),
      );
    }
  });

  it('two hubs booting together and 200 concurrent reads fetch each token once; all reads get the one valid token', async () => {
    const reads = await Promise.all(
      Array.from({ length: 200 }, (_, i) => readToken(hubs[i % 2]!, accounts[i % accounts.length]!)),
    );
    for (const id of accounts) {
      const values = new Set(
        reads.filter((_, i) => accounts[i % accounts.length] === id).map((r) => r.access_token),
      );
      expect(values.size).toBe(1);
      expect(await tokenState(id, [...values][0]!)).toBe('valid');
      expect((await simStats(id)).stableToken).toBe(1);
    }
  });

  it('60 concurrent reports of a dead token through both hubs cost 1 upstream call per account', async () => {
    const [first, second] = accounts as [string, string];
    const old = await Promise.all([first, second].map((id) => readToken(hubs[0]!, id)));
    for (const id of [first, second]) {
      await postJson(`${sim.url}/sandbox/apps/${id}/foreign-refresh`, { endpoint: 'stable' });
    }
    const before = await Promise.all([first, second].map(simStats));
    const reports = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const which = i % 2;
        return postJson<TokenBody>(
          `${hubs[(i >> 1) % 2]!.url}/api/v1/accounts/${[first, second][which]}/token/invalid`,
          { access_token: old[which]!.access_token },
          auth,
        );
      }),
    );
    expect(reports.every((r) => r.status === 200)).toBe(true);
    for (const [which, id] of [first, second].entries()) {
      const fresh = new Set(reports.filter((_, i) => i % 2 === which).map((r) => r.body.access_token));
      expect(fresh.size).toBe(1);
      const [value] = [...fresh];
      expect(value).not.toBe(old[which]!.access_token);
      expect(await tokenState(id, value!)).toBe('valid');
      expect((await simStats(id)).stableToken - before[which]!.stableToken).toBe(1);
      // the compare-and-set landed on the account's master with the next version
      const stored = JSON.parse(
        (await cluster.node(masterOf.get(id)!).get(`wxhub:{${id}}:token`))!,
      ) as TokenBody & {
        value: string;
      };
      expect(stored).toMatchObject({ value, version: old[which]!.version + 1 });
    }
  });

  it('a forced refresh on one hub reaches the other at once (pub/sub), spends the budget once, and the daily counters match WeChat', async () => {
    const id = accounts[2]!;
    const before = await readToken(hubs[1]!, id); // hub B now trusts its in-process copy for 3 s
    const forced = await postJson<TokenBody>(`${hubs[0]!.url}/api/v1/accounts/${id}/token/refresh`, {}, auth);
    expect(forced.status).toBe(200);
    expect(forced.body.version).toBe(before.version + 1);
    const forcedAt = Date.now();
    let seen = await readToken(hubs[1]!, id);
    while (seen.access_token !== forced.body.access_token && Date.now() - forcedAt < 3000) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await readToken(hubs[1]!, id);
    }
    const lagMs = Date.now() - forcedAt;
    console.log(
      `cluster pub/sub: hub B served the forced token ${lagMs} ms after hub A stored it (L1 trust 3000 ms)`,
    );
    expect(seen.access_token).toBe(forced.body.access_token);
    expect(lagMs).toBeLessThan(1000);

    // spacing: a second force within 30 s is refused, whichever hub it reaches
    const again = await postJson<{ statusCode: number; message: string }>(
      `${hubs[1]!.url}/api/v1/accounts/${id}/token/refresh`,
      {},
      auth,
    );
    expect(again.status).toBe(429);

    const { body } = await getJson<{ store: string; accounts: AccountState[] }>(
      `${hubs[1]!.url}/api/v1/accounts`,
      auth,
    );
    expect(body.store).toMatch(/^redis cluster/);
    const stats = await simStats(id);
    const state = body.accounts.find((a) => a.appId === id)!;
    expect(state.forceRefreshBudgetLeft).toBe(19);
    // the hub counts normal and forced stable_token calls apart; the simulator counts both in stableToken
    const calls = state.upstreamCallsToday;
    expect(calls.stableToken + calls.stableTokenForce).toBe(stats.stableToken);
    expect(calls.stableTokenForce).toBe(1);
    expect(stats.stableTokenForce).toBe(1);
  });

  it('a push delivered 4 times across the two hubs runs its handler once, with byte-identical answers', async () => {
    const results: { id: string; runs: number }[] = [];
    for (const id of accounts) {
      const msgId = String(BigInt(Date.now()) * 1000n + BigInt(results.length));
      const signed = signPush(
        { appId: id, token: CALLBACK_TOKEN },
        pushXml({ toUser: 'gh_cluster0001', fromUser: `o_cluster_${msgId}`, text: 'once', msgId }),
      );
      const answers = await Promise.all(
        [0, 1, 0, 1].map(async (h) => {
          const response = await fetch(
            `${hubs[h]!.url}/wechat/${id}?${new URLSearchParams(signed.query).toString()}`,
            { method: 'POST', headers: { 'content-type': 'text/xml' }, body: signed.body },
          );
          return { status: response.status, body: await response.text() };
        }),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(answers.map((a) => a.body)).size).toBe(1);
      expect(answers[0]!.body).toContain('echo: once');
      const runs = readFileSync(handlerLog, 'utf8')
        .split('\n')
        .filter((line) => line.split(' ')[1] === msgId).length;
      results.push({ id, runs });
    }
    expect(results.map((r) => r.runs)).toEqual(accounts.map(() => 1));
    // the dedupe records live on each account's own master
    for (const id of accounts) {
      const keys = await cluster.node(masterOf.get(id)!).keys(`wxhub:{${id}}:dedupe:*`);
      expect(keys.length).toBeGreaterThanOrEqual(1);
    }
  });

  it('a master that hangs for 4 s (the cluster goes down): every account keeps answering its token, and all recovers', async () => {
    const current = new Map<string, string>();
    // each hub has served every account before (without an in-process copy, a hub answers 503 while the store is down)
    for (const hub of hubs)
      for (const id of accounts) current.set(id, (await readToken(hub, id)).access_token);
    const victim = masterOf.get(accounts[0]!)!;
    const reads = readContinuously((id) => current.get(id)!);
    cluster.pause(victim);
    const witness = cluster.ports.find((port) => port !== victim)!;
    let downSeen = false;
    let clusterFailSeen = false;
    try {
      const until = Date.now() + 4000;
      while (Date.now() < until) {
        if ((await getJson(`${hubs[1]!.url}/health/ready`)).status === 503) downSeen = true;
        if (/cluster_state:fail/.test(await cluster.node(witness).cluster('INFO'))) clusterFailSeen = true;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      cluster.resume(victim);
    }
    const servedWhilePaused = reads.tally.served;
    const resumedAt = Date.now();
    await waitFor('both hubs to report ready again', async () => {
      for (const hub of hubs) if ((await getJson(`${hub.url}/health/ready`)).status !== 200) return false;
      return true;
    });
    const readyAfterMs = Date.now() - resumedAt;
    await new Promise((r) => setTimeout(r, 500));
    const { served, errors, wrong } = await reads.stop();
    console.log(
      `cluster master ${victim} hung 4 s (cluster_state:fail seen: ${clusterFailSeen}): ${servedWhilePaused} reads answered meanwhile, ${served} in all, ${errors} errors, ${wrong} other tokens; ready again ${readyAfterMs} ms after it resumed`,
    );
    expect(downSeen).toBe(true);
    expect(clusterFailSeen).toBe(true);
    expect(servedWhilePaused).toBeGreaterThan(40);
    expect(errors).toBe(0);
    expect(wrong).toBe(0);
    reportFault({
      scenario: 'Redis Cluster: a master hangs 4 s (cluster_state:fail), reads from 2 hubs',
      invalidServed: wrong,
      callerErrors: errors,
      recoverySeconds: readyAfterMs / 1000,
      note: `${servedWhilePaused} reads answered meanwhile; readiness 503 during, 200 after`,
    });
    // scripts run on the recovered master again: a forced refresh (force budget, CAS, counters) is stored there
    const forced = await postJson<TokenBody>(
      `${hubs[1]!.url}/api/v1/accounts/${accounts[0]}/token/refresh`,
      {},
      auth,
    );
    expect(forced.status).toBe(200);
    const stored = JSON.parse(
      (await cluster.node(victim).get(`wxhub:{${accounts[0]}}:token`))!,
    ) as TokenBody & {
      value: string;
    };
    expect(stored).toMatchObject({ value: forced.body.access_token, version: forced.body.version });
  });

  it('a master that crashes and restarts empty: reads keep answering, and the hubs write its accounts tokens back without asking WeChat', async () => {
    const victim = masterOf.get(accounts[1]!)!;
    const onVictim = accounts.filter((id) => masterOf.get(id) === victim);
    const current = new Map<string, TokenBody>();
    for (const hub of hubs) for (const id of accounts) current.set(id, await readToken(hub, id));
    const calls = await Promise.all(onVictim.map(async (id) => (await simStats(id)).stableToken));
    const reads = readContinuously((id) => current.get(id)!.access_token);
    const crashedAt = Date.now();
    await cluster.crash(victim);
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.restart(victim);
    expect(await cluster.node(victim).dbsize()).toBe(0);
    await waitFor('every account of the restarted master to be written back', async () => {
      for (const id of onVictim) {
        const raw = await cluster.node(victim).get(`wxhub:{${id}}:token`);
        if (!raw || (JSON.parse(raw) as TokenBody).version !== current.get(id)!.version) return false;
      }
      return true;
    });
    const restoredMs = Date.now() - crashedAt;
    const { served, errors, wrong } = await reads.stop();
    console.log(
      `cluster master ${victim} crashed (${onVictim.length} account(s) on it): tokens written back ${restoredMs} ms after the crash; ${served} reads, ${errors} errors, ${wrong} other tokens`,
    );
    expect(errors).toBe(0);
    expect(wrong).toBe(0);
    for (const [i, id] of onVictim.entries()) {
      const raw = await cluster.node(victim).get(`wxhub:{${id}}:token`);
      expect(JSON.parse(raw!)).toMatchObject({
        value: current.get(id)!.access_token,
        version: current.get(id)!.version,
      });
      expect((await simStats(id)).stableToken).toBe(calls[i]);
    }
    reportFault({
      scenario: 'Redis Cluster: a master crashes and restarts empty, reads from 2 hubs',
      invalidServed: wrong,
      callerErrors: errors,
      recoverySeconds: restoredMs / 1000,
      note: 'tokens written back to the restarted master with 0 upstream calls',
    });
  });

  it('/health/ready is up on both hubs and names the cluster store', async () => {
    for (const hub of hubs) {
      const ready = await getJson<{
        status: string;
        details: { tokenPlane: { store: { status: string; description: string } } };
      }>(`${hub.url}/health/ready`, auth);
      expect(ready.status).toBe(200);
      expect(ready.body.details.tokenPlane.store).toMatchObject({
        status: 'up',
        description: expect.stringMatching(/^redis cluster/),
      });
    }
  });
});
