import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { AuditEntry } from '../src/audit/audit-entry';
import { getJson, postJson, type HttpResponse } from './support/http';
import { spawnNode, startHub, startSimulator, type ChildHandle } from './support/processes';
import { freePort } from './support/free-port';
import { startRedis, type RedisServerHandle } from './support/redis-server';

/*
 * The audit log across a fleet: one redis-server, the simulator in its own process, and two hubs sharing them —
 * hub A is dist/main.js, hub B a host app (test/fixtures/quota-host.js) that also calls clear_quota through the
 * in-process API client. Every entry either hub writes is read back from both.
 */

type Hub = ChildHandle & { url: string };

const APP = 'wxaudit00000000001';
const APP2 = 'wxaudit00000000002';
const SECRET = `S${randomBytes(16).toString('hex')}`;
const SECRET2 = `S${randomBytes(16).toString('hex')}`;
const KEY1 = `audit-key-one-${randomBytes(8).toString('hex')}`;
const KEY2 = `audit-key-two-${randomBytes(8).toString('hex')}`;
const PREFIX = 'audittest';
const MAX_ENTRIES = 60;
const auth = (key: string): RequestInit => ({ headers: { authorization: `Bearer ${key}` } });
const fingerprint = (key: string): string =>
  `key#${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;

interface AuditPage {
  store: string;
  entries: AuditEntry[];
}

describe('audit log shared by two hubs', () => {
  let redis: RedisServerHandle;
  let sim: ChildHandle & { url: string };
  let hubA: Hub;
  let hubB: Hub;
  let dir: string;
  let accountsFile: string;

  const writeAccounts = (accounts: object[]): void => writeFileSync(accountsFile, JSON.stringify(accounts));

  async function audit(hub: Hub, query = ''): Promise<AuditEntry[]> {
    const page = await getJson<AuditPage>(`${hub.url}/api/v1/audit${query}`, auth(KEY1));
    expect(page.status).toBe(200);
    return page.body.entries;
  }

  /** Audit writes are not awaited by the operations: poll until `count` entries match. */
  async function auditUntil(hub: Hub, query: string, count: number): Promise<AuditEntry[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const entries = await audit(hub, query);
      if (entries.length >= count || Date.now() > deadline) return entries;
      await delay(100);
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wxhub-audit-'));
    accountsFile = join(dir, 'accounts.json');
    writeAccounts([{ appId: APP, appSecret: SECRET }]);
    // small stream nodes, so MAXLEN ~ trims close to the cap
    redis = await startRedis({ args: ['--stream-node-max-entries', '10'] });
    sim = await startSimulator({
      SANDBOX_APPS: JSON.stringify([
        { appId: APP, appSecret: SECRET },
        { appId: APP2, appSecret: SECRET2 },
      ]),
    });
    const env = {
      NODE_ENV: 'test',
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS_FILE: accountsFile,
      WECHAT_API_BASE_URL: sim.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: PREFIX,
      ADMIN_API_KEYS: `${KEY1},${KEY2}`,
      AUDIT_MAX_ENTRIES: String(MAX_ENTRIES),
      THROTTLE_INVALID_REPORT_LIMIT: '10000',
      THROTTLE_AUDIT_READ_LIMIT: '10000',
      THROTTLE_RELOAD_LIMIT: '10000',
      LOG_LEVEL: 'warn',
    };
    const port = await freePort();
    [hubA, hubB] = await Promise.all([
      startHub(env, { name: 'hub-a' }),
      spawnNode('test/fixtures/quota-host.js', {
        name: 'hub-b',
        env: { ...env, PORT: String(port) },
        timeoutMs: 30_000,
        readyWhen: /"event":"listening"/,
      }).then((handle) => ({ ...handle, url: `http://127.0.0.1:${port}` })),
    ]);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('forced refreshes and invalid reports written by either hub are read back from both, with who, result and version', async () => {
    const forced = await postJson<{ version: number; access_token: string }>(
      `${hubA.url}/api/v1/accounts/${APP}/token/refresh`,
      {},
      auth(KEY1),
    );
    expect(forced.status).toBe(200);
    const tooSoon = await postJson(`${hubB.url}/api/v1/accounts/${APP}/token/refresh`, {}, auth(KEY2));
    expect(tooSoon.status).toBe(429);
    const stale = await postJson<{ outcome: string }>(
      `${hubB.url}/api/v1/accounts/${APP}/token/invalid`,
      { access_token: 'a-token-that-is-long-gone' },
      auth(KEY2),
    );
    expect(stale.body.outcome).toBe('stale-report');
    const sdk = await postJson<{ access_token: string }>(`${hubA.url}/cgi-bin/stable_token`, {
      grant_type: 'client_credential',
      appid: APP,
      secret: SECRET,
      force_refresh: true,
    });
    expect(sdk.body.access_token).toEqual(expect.any(String));

    const fromA = await auditUntil(hubA, `?appId=${APP}`, 4);
    const fromB = await audit(hubB, `?appId=${APP}`);
    expect(fromB).toEqual(fromA);
    const [sdkReport, staleReport, refused, ok] = fromA;
    expect(ok).toMatchObject({
      action: 'token.force_refresh',
      appId: APP,
      actor: fingerprint(KEY1),
      ip: '127.0.0.1',
      result: 'ok',
      version: forced.body.version,
    });
    expect(refused).toMatchObject({
      action: 'token.force_refresh',
      actor: fingerprint(KEY2),
      result: 'refused',
      reason: expect.stringMatching(/30 s apart/),
      details: { refusal: 'spacing' },
    });
    expect(staleReport).toMatchObject({
      action: 'token.invalid_report',
      actor: fingerprint(KEY2),
      result: 'ok',
      reason: expect.stringMatching(/stale report ignored/),
      version: null,
      details: { outcome: 'stale-report' },
    });
    // the SDK's force_refresh is a report of the current token: WeChat still accepts it, so nothing is spent
    expect(sdkReport).toMatchObject({
      action: 'token.invalid_report',
      actor: 'sdk',
      ip: '127.0.0.1',
      result: 'ok',
      details: { outcome: 'false-report' },
    });
    expect(ok!.instance).not.toBe(refused!.instance); // written by hub A and hub B
    expect(compareIds(fromA.map((e) => e.id))).toBe(true); // newest first
    const text = JSON.stringify(fromA);
    for (const secret of [forced.body.access_token, sdk.body.access_token, SECRET, KEY1, KEY2])
      expect(text).not.toContain(secret);
  });

  it('a report that fails at WeChat is recorded as failed with its errcode and rid', async () => {
    const current = await getJson<{ access_token: string }>(
      `${hubA.url}/api/v1/accounts/${APP}/token`,
      auth(KEY1),
    );
    await postJson(`${sim.url}/sandbox/faults`, { kind: 'busy', paths: ['/cgi-bin/stable_token'], times: 1 });
    const failed = await postJson(
      `${hubA.url}/api/v1/accounts/${APP}/token/invalid`,
      { access_token: current.body.access_token },
      auth(KEY1),
    );
    expect(failed.status).toBe(503);

    const [entry] = await auditUntil(hubB, `?action=token.invalid_report&limit=1`, 1);
    expect(entry).toMatchObject({
      actor: fingerprint(KEY1),
      result: 'failed',
      errcode: -1,
      rid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/),
      reason: expect.stringMatching(/busy/),
    });
  });

  it("every clear_quota — gateway, SDK pass-through, API client v1 and v2 — is audited with its actor, and a refusal with WeChat's errcode and rid", async () => {
    const token = await getJson<{ access_token: string }>(
      `${hubB.url}/api/v1/accounts/${APP}/token`,
      auth(KEY1),
    );
    const viaGateway = (): Promise<HttpResponse<{ errcode: number; errmsg: string }>> =>
      postJson(`${hubA.url}/gateway/${APP}/cgi-bin/clear_quota`, { appid: APP }, auth(KEY2));
    const viaSdk = (): Promise<HttpResponse<{ errcode: number; errmsg: string }>> =>
      postJson(`${hubB.url}/cgi-bin/clear_quota?access_token=${token.body.access_token}`, { appid: APP });
    const viaClient = (v2 = false): Promise<HttpResponse<{ ok?: true; errcode?: number; rid?: string }>> =>
      postJson(`${hubB.url}/host/${v2 ? 'clear-quota-v2' : 'clear-quota'}/${APP}`, {});

    // WeChat allows 10 resets a month
    for (const call of [viaGateway, viaGateway, viaGateway, viaSdk, viaSdk])
      expect((await call()).body.errcode).toBe(0);
    for (const v2 of [false, false, true, true, true]) expect((await viaClient(v2)).body.ok).toBe(true);
    const refusedAtGateway = await viaGateway();
    expect(refusedAtGateway.body.errcode).toBe(48006);
    const gatewayRid = / rid: (\S+)$/.exec(refusedAtGateway.body.errmsg)?.[1];
    expect(gatewayRid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
    const refusedInClient = await viaClient();
    expect(refusedInClient.body.errcode).toBe(48006);

    const entries = await auditUntil(hubB, `?action=quota.clear&appId=${APP}`, 12);
    expect(entries).toHaveLength(12);
    const [clientRefusal, gatewayRefusal, ...done] = entries;
    expect(clientRefusal).toMatchObject({
      actor: 'internal',
      result: 'failed',
      errcode: 48006,
      rid: refusedInClient.body.rid,
      details: { variant: 'v1', via: 'client' },
    });
    expect(gatewayRefusal).toMatchObject({
      actor: `gateway:${fingerprint(KEY2)}`,
      ip: '127.0.0.1',
      result: 'failed',
      errcode: 48006,
      rid: gatewayRid,
      reason: 'forbid to clear quota because of reaching the limit',
      details: { variant: 'v1', via: 'gateway' },
    });
    expect(done.every((e) => e.result === 'ok' && e.errcode === null)).toBe(true);
    const tally = (actor: string, variant: string): number =>
      done.filter((e) => e.actor === actor && e.details?.variant === variant).length;
    expect(tally(`gateway:${fingerprint(KEY2)}`, 'v1')).toBe(3);
    expect(tally('sdk', 'v1')).toBe(2);
    expect(tally('internal', 'v1')).toBe(2);
    expect(tally('internal', 'v2')).toBe(3);
  });

  it('account changes are audited per account, from the file watch of each hub and from the reload route', async () => {
    writeAccounts([
      { appId: APP, appSecret: SECRET },
      { appId: APP2, appSecret: SECRET2 },
    ]);
    const added = await auditUntil(hubA, `?action=account.added&appId=${APP2}`, 2);
    expect(added.map((e) => e.actor)).toEqual(['file-watch', 'file-watch']);
    expect(new Set(added.map((e) => e.instance)).size).toBe(2);

    writeAccounts([{ appId: APP2, appSecret: SECRET2 }]);
    await auditUntil(hubA, `?action=account.removed&appId=${APP}`, 2);
    writeAccounts([
      { appId: APP, appSecret: SECRET },
      { appId: APP2, appSecret: SECRET2, tokenEndpoint: 'legacy' },
    ]);
    await auditUntil(hubA, `?action=account.changed&appId=${APP2}`, 2);

    const reload = await postJson(`${hubB.url}/api/v1/accounts/reload`, {}, auth(KEY2));
    expect(reload.status).toBe(200);
    writeFileSync(accountsFile, 'not json');
    const refused = await postJson(`${hubA.url}/api/v1/accounts/reload`, {}, auth(KEY1));
    expect(refused.status).toBe(400);
    const reloads = await auditUntil(hubB, '?action=accounts.reload', 1);
    expect(reloads.find((e) => e.actor === fingerprint(KEY1))).toMatchObject({
      result: 'failed',
      reason: expect.stringMatching(/WECHAT_ACCOUNTS_FILE must be an array/),
    });
    const byRoute = reloads.find((e) => e.actor === fingerprint(KEY2));
    expect(byRoute).toMatchObject({
      result: 'ok',
      details: { added: [], removed: [], changed: [], unchanged: 2 },
    });
    writeAccounts([
      { appId: APP, appSecret: SECRET },
      { appId: APP2, appSecret: SECRET2 },
    ]);
  });

  it('pages back with before, and refuses bad queries with 400', async () => {
    const first = await audit(hubA, '?limit=3');
    expect(first).toHaveLength(3);
    const next = await audit(hubB, `?limit=3&before=${first[2]!.id}`);
    expect(next).toHaveLength(3);
    expect(compareIds([...first, ...next].map((e) => e.id))).toBe(true);
    for (const query of [
      '?limit=0',
      '?limit=1001',
      '?limit=ten',
      '?action=token.stolen',
      '?before=abc',
      '?appId=nope',
      '?extra=1',
    ]) {
      const response = await getJson<{ statusCode: number; error: string; message: string }>(
        `${hubA.url}/api/v1/audit${query}`,
        auth(KEY1),
      );
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(response.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.any(String),
      });
    }
    expect((await getJson(`${hubA.url}/api/v1/audit`)).status).toBe(401);
  });

  it('the stream stays capped at AUDIT_MAX_ENTRIES (MAXLEN ~) however many entries are written', async () => {
    for (let i = 0; i < 150; i++) {
      const hub = i % 2 ? hubA : hubB;
      const response = await postJson(
        `${hub.url}/api/v1/accounts/${APP}/token/invalid`,
        { access_token: `stale-${i}` },
        auth(KEY1),
      );
      expect(response.status).toBe(200);
    }
    await auditUntil(hubA, '?limit=1000&action=token.invalid_report', MAX_ENTRIES);
    const client = redis.client();
    try {
      const length = await client.xlen(`${PREFIX}:audit`);
      // approximate trimming removes whole stream nodes (10 entries here)
      expect(length).toBeGreaterThanOrEqual(MAX_ENTRIES);
      expect(length).toBeLessThanOrEqual(MAX_ENTRIES + 10);
    } finally {
      client.disconnect();
    }
    const all = await audit(hubB, '?limit=1000');
    expect(all.length).toBeLessThanOrEqual(MAX_ENTRIES + 10);
    expect(all.some((e) => e.action === 'token.force_refresh')).toBe(false); // the oldest are gone
  });
});

function compareIds(ids: string[]): boolean {
  const key = (id: string): bigint[] => id.split('-').map(BigInt);
  return ids.every((id, i) => {
    if (i === 0) return true;
    const [am, as] = key(ids[i - 1]!);
    const [bm, bs] = key(id);
    return am! > bm! || (am === bm && as! > bs!);
  });
}
