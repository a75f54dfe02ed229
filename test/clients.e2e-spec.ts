import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, postJson, type HttpResponse } from './support/http';
import { outputHas, startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';

/**
 * Least privilege over real HTTP: two hubs sharing a real redis-server and one accounts file with clients, the
 * simulator as WeChat. Every scope against every route, on the client's own account, another configured account
 * and an account that does not exist; a reload removing a client in the middle; the failed-auth block (429 with
 * Retry-After, drop-in failures apart from the admin API); real SDKs (co-wechat-api, wechat-api) configured with
 * appid + client key; and no key or secret anywhere in the hubs' debug-level output.
 */

type Hub = ChildHandle & { url: string; port: number };
type Sim = ChildHandle & { url: string };
type Scope = 'read' | 'report' | 'operate' | 'gateway' | 'exchange';

const secret = (): string => `S${randomBytes(16).toString('hex')}`;
const OWN = { appId: 'wxclientsown000001', appSecret: secret() };
const OTHER = { appId: 'wxclientsother0001', appSecret: secret() };
const NONE = 'wxclientsnone00001';
const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;
const WRONG_KEY = `wrong-${randomBytes(12).toString('hex')}`;
const SCOPES: Scope[] = ['read', 'report', 'operate', 'gateway', 'exchange'];
const KEYS = Object.fromEntries(SCOPES.map((s) => [s, `${s}-${randomBytes(12).toString('hex')}`])) as Record<
  Scope,
  string
>;
const FLEET_OPS_KEY = `fleet-${randomBytes(12).toString('hex')}`;

function clientsList(without: Scope[] = []): object[] {
  return [
    ...SCOPES.filter((s) => !without.includes(s)).map((s) => ({
      name: `c-${s}`,
      key: KEYS[s],
      scopes: [s],
      appIds: [OWN.appId],
    })),
    { name: 'fleet-ops', key: FLEET_OPS_KEY, scopes: ['operate'], appIds: ['*'] },
  ];
}

function writeAccountsFile(file: string, clients: object[]): void {
  writeFileSync(file, JSON.stringify({ accounts: [OWN, OTHER], clients }, null, 2));
}

const bearer = (key: string): RequestInit => ({ headers: { authorization: `Bearer ${key}` } });

interface Route {
  name: string;
  scope: Scope;
  call(hub: Hub, appId: string, key: string): Promise<HttpResponse>;
  /** What an allowed call answers (exchange: the OA refuses code2session by kind, after authorization). */
  allowed: (status: number) => boolean;
}

const ok = (status: number): boolean => status >= 200 && status < 300;
const ROUTES: Route[] = [
  {
    name: 'GET token',
    scope: 'read',
    call: (hub, appId, key) => getJson(`${hub.url}/api/v1/accounts/${appId}/token`, bearer(key)),
    allowed: ok,
  },
  {
    name: 'GET ticket',
    scope: 'read',
    call: (hub, appId, key) => getJson(`${hub.url}/api/v1/accounts/${appId}/tickets/jsapi`, bearer(key)),
    allowed: ok,
  },
  {
    name: 'GET jsapi-signature',
    scope: 'read',
    call: (hub, appId, key) =>
      getJson(
        `${hub.url}/api/v1/accounts/${appId}/jsapi-signature?url=${encodeURIComponent('https://shop.example.com/')}`,
        bearer(key),
      ),
    allowed: ok,
  },
  {
    name: 'POST token/invalid',
    scope: 'report',
    call: (hub, appId, key) =>
      postJson(
        `${hub.url}/api/v1/accounts/${appId}/token/invalid`,
        { access_token: 'STALE_TOKEN_VALUE' },
        bearer(key),
      ),
    allowed: ok,
  },
  {
    name: 'POST token/refresh',
    scope: 'operate',
    call: (hub, appId, key) => postJson(`${hub.url}/api/v1/accounts/${appId}/token/refresh`, {}, bearer(key)),
    allowed: ok,
  },
  {
    name: 'GET audit?appId',
    scope: 'operate',
    call: (hub, appId, key) => getJson(`${hub.url}/api/v1/audit?appId=${appId}`, bearer(key)),
    allowed: ok,
  },
  {
    name: 'gateway getcallbackip',
    scope: 'gateway',
    call: (hub, appId, key) => getJson(`${hub.url}/gateway/${appId}/cgi-bin/getcallbackip`, bearer(key)),
    allowed: ok,
  },
  {
    name: 'POST code2session',
    scope: 'exchange',
    call: (hub, appId, key) =>
      postJson(`${hub.url}/api/v1/accounts/${appId}/code2session`, { js_code: 'CODE' }, bearer(key)),
    allowed: (status) => status !== 401 && status !== 403 && status !== 404 && status < 500,
  },
];

let redis: RedisServerHandle;
let sim: Sim;
let hubs: Hub[];
let file: string;

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ SANDBOX_APPS: JSON.stringify([OWN, OTHER]) });
  file = join(mkdtempSync(join(tmpdir(), 'wxhub-clients-e2e-')), 'accounts.json');
  writeAccountsFile(file, clientsList());
  const env = {
    WECHAT_SANDBOX: 'false',
    WECHAT_ACCOUNTS_FILE: file,
    WECHAT_API_BASE_URL: sim.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'clients-e2e',
    ADMIN_API_KEYS: ADMIN_KEY,
    LOG_LEVEL: 'debug',
    THROTTLE_FAILED_AUTH_LIMIT: '20',
    THROTTLE_WINDOW_SECONDS: '60',
  };
  hubs = await Promise.all([
    startHub(env, { name: 'hub-1' }),
    startHub({ ...env, DROPIN_ACCEPT_APP_SECRET: 'false' }, { name: 'hub-2' }),
  ]);
});

afterAll(async () => {
  await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
  await redis?.stop();
});

describe('each scope × each route × own / other / nonexistent account', () => {
  it('answers 200 only with the scope on the own account, 403 otherwise (the same for other and nonexistent), 401 for an unknown key', async () => {
    const failures: string[] = [];
    let n = 0;
    for (const route of ROUTES) {
      for (const scope of SCOPES) {
        for (const [label, appId] of [
          ['own', OWN.appId],
          ['other', OTHER.appId],
          ['nonexistent', NONE],
        ] as const) {
          const hub = hubs[n++ % 2]!;
          const answer = await route.call(hub, appId, KEYS[scope]);
          const shouldPass = scope === route.scope && label === 'own';
          const passed = shouldPass ? route.allowed(answer.status) : answer.status === 403;
          if (!passed) failures.push(`${route.name} by c-${scope} on ${label}: HTTP ${answer.status}`);
          if (!shouldPass && answer.status === 403) {
            const message = (answer.body as { message: string }).message;
            // nothing tells another account from one that does not exist but the appId asked for
            if (label !== 'own' && scope === route.scope)
              expect(message).toBe(`client "c-${scope}" may not use account ${appId}`);
          }
        }
      }
      const unknown = await route.call(hubs[0]!, OWN.appId, WRONG_KEY);
      if (unknown.status !== 401) failures.push(`${route.name} with an unknown key: HTTP ${unknown.status}`);
    }
    expect(failures).toEqual([]);

    // admin keys keep full access; only they learn that an account does not exist
    expect((await ROUTES[0]!.call(hubs[0]!, OTHER.appId, ADMIN_KEY)).status).toBe(200);
    expect((await ROUTES[0]!.call(hubs[1]!, NONE, ADMIN_KEY)).status).toBe(404);
  });

  it('lists only the client its own accounts, and refuses the reload to a client not on every account', async () => {
    const listed = await getJson<{ accounts: { appId: string }[] }>(
      `${hubs[1]!.url}/api/v1/accounts`,
      bearer(KEYS.read),
    );
    expect(listed.status).toBe(200);
    expect(listed.body.accounts.map((a) => a.appId)).toEqual([OWN.appId]);
    const all = await getJson<{ accounts: { appId: string }[] }>(
      `${hubs[1]!.url}/api/v1/accounts`,
      bearer(ADMIN_KEY),
    );
    expect(all.body.accounts.map((a) => a.appId).sort()).toEqual([OTHER.appId, OWN.appId].sort());
    for (const scope of SCOPES.filter((s) => s !== 'read'))
      expect((await getJson(`${hubs[0]!.url}/api/v1/accounts`, bearer(KEYS[scope]))).status).toBe(403);

    for (const scope of SCOPES)
      expect((await postJson(`${hubs[0]!.url}/api/v1/accounts/reload`, {}, bearer(KEYS[scope]))).status).toBe(
        403,
      );
    expect((await postJson(`${hubs[0]!.url}/api/v1/accounts/reload`, {}, bearer(FLEET_OPS_KEY))).status).toBe(
      200,
    );
  });

  it('names the client in the audit log, and shows a client only the entries of its accounts', async () => {
    await postJson(`${hubs[0]!.url}/api/v1/accounts/${OTHER.appId}/token/refresh`, {}, bearer(ADMIN_KEY));
    const audit = await getJson<{ entries: { appId?: string; action: string; actor?: string }[] }>(
      `${hubs[0]!.url}/api/v1/audit`,
      bearer(KEYS.operate),
    );
    expect(audit.status).toBe(200);
    expect(audit.body.entries.length).toBeGreaterThan(0);
    expect(audit.body.entries.every((e) => e.appId === OWN.appId)).toBe(true);
    // the admin sees the fleet: the reload by fleet-ops and the refresh of the other account
    const fleet = await getJson<{ entries: { appId?: string; action: string; actor?: string }[] }>(
      `${hubs[1]!.url}/api/v1/audit`,
      bearer(ADMIN_KEY),
    );
    expect(
      fleet.body.entries.some((e) => e.action === 'accounts.reload' && e.actor === 'client:fleet-ops'),
    ).toBe(true);
    expect(fleet.body.entries.some((e) => e.appId === OTHER.appId)).toBe(true);
    expect(
      audit.body.entries.some((e) => e.action === 'token.force_refresh' && e.actor === 'client:c-operate'),
    ).toBe(true);
    expect(
      audit.body.entries.some((e) => e.action === 'token.invalid_report' && e.actor === 'client:c-report'),
    ).toBe(true);
  });
});

describe('the drop-in with client keys, through real SDKs', () => {
  /** co-wechat-api 3.x (no types): the parts used here. */
  interface CoWechatApi {
    prefix: string;
    getIp(): Promise<{ ip_list: string[] }>;
    getAccessToken(): Promise<{ accessToken: string }>;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const CoApi = require('co-wechat-api') as new (appId: string, secret: string) => CoWechatApi;
  /** wechat-api 1.x (callbacks, no types): the parts used here. */
  interface WechatApi {
    endpoint: string;
    getAccessToken(callback: (error: Error | null, token?: { accessToken: string }) => void): void;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const WechatApiClass = require('wechat-api') as new (appId: string, secret: string) => WechatApi;

  function coApi(hub: Hub, appId: string, secretOrKey: string): CoWechatApi {
    const api = new CoApi(appId, secretOrKey);
    api.prefix = `${hub.url}/cgi-bin/`;
    return api;
  }

  function wechatApiToken(hub: Hub, appId: string, secretOrKey: string): Promise<string> {
    const api = new WechatApiClass(appId, secretOrKey);
    api.endpoint = hub.url;
    return new Promise((resolve, reject) =>
      api.getAccessToken((error, token) => (error ? reject(error) : resolve(token!.accessToken))),
    );
  }

  it('co-wechat-api with appid + a read key gets the shared token and calls WeChat through the hub', async () => {
    const shared = (
      await getJson<{ access_token: string }>(
        `${hubs[0]!.url}/api/v1/accounts/${OWN.appId}/token`,
        bearer(ADMIN_KEY),
      )
    ).body.access_token;
    for (const hub of hubs) {
      const api = coApi(hub, OWN.appId, KEYS.read);
      expect((await api.getAccessToken()).accessToken).toBe(shared);
      expect((await api.getIp()).ip_list).toEqual(expect.any(Array));
    }
  });

  it('wechat-api with appid + a read key gets the shared token on both hubs', async () => {
    const shared = (
      await getJson<{ access_token: string }>(
        `${hubs[0]!.url}/api/v1/accounts/${OWN.appId}/token`,
        bearer(ADMIN_KEY),
      )
    ).body.access_token;
    expect(await wechatApiToken(hubs[0]!, OWN.appId, KEYS.read)).toBe(shared);
    expect(await wechatApiToken(hubs[1]!, OWN.appId, KEYS.read)).toBe(shared);
  });

  it('refuses a key without read on that appid (48001), and the AppSecret where DROPIN_ACCEPT_APP_SECRET=false', async () => {
    await expect(coApi(hubs[0]!, OTHER.appId, KEYS.read).getAccessToken()).rejects.toMatchObject({
      code: 48001,
    });
    await expect(coApi(hubs[0]!, OWN.appId, KEYS.gateway).getAccessToken()).rejects.toMatchObject({
      code: 48001,
    });
    await expect(wechatApiToken(hubs[0]!, NONE, KEYS.read)).rejects.toMatchObject({ code: 48001 });
    // hub-1 still accepts the AppSecret (the default), hub-2 refuses it
    expect((await coApi(hubs[0]!, OWN.appId, OWN.appSecret).getAccessToken()).accessToken).toEqual(
      expect.any(String),
    );
    await expect(coApi(hubs[1]!, OWN.appId, OWN.appSecret).getAccessToken()).rejects.toMatchObject({
      code: 40125,
    });
    await expect(wechatApiToken(hubs[1]!, OWN.appId, OWN.appSecret)).rejects.toMatchObject({ code: 40125 });
  });

  it('serves a read-only client its current token on force_refresh (a report needs the report scope)', async () => {
    const current = (
      await getJson<{ access_token: string }>(
        `${hubs[0]!.url}/api/v1/accounts/${OWN.appId}/token`,
        bearer(ADMIN_KEY),
      )
    ).body.access_token;
    const answer = await postJson<{ access_token: string }>(`${hubs[0]!.url}/cgi-bin/stable_token`, {
      grant_type: 'client_credential',
      appid: OWN.appId,
      secret: KEYS.read,
      force_refresh: true,
    });
    expect(answer.body.access_token).toBe(current);
  });
});

describe('a reload that removes a client, in the middle of its traffic', () => {
  it('refuses the removed client on both hubs at once (the other hub hears it over Redis)', async () => {
    const path = `/api/v1/accounts/${OWN.appId}/token`;
    for (const hub of hubs) expect((await getJson(`${hub.url}${path}`, bearer(KEYS.read))).status).toBe(200);

    writeAccountsFile(file, clientsList(['read']));
    const reload = await postJson(`${hubs[0]!.url}/api/v1/accounts/reload`, {}, bearer(FLEET_OPS_KEY));
    expect(reload.status).toBe(200);
    expect((await getJson(`${hubs[0]!.url}${path}`, bearer(KEYS.read))).status).toBe(401);
    const heard = await outputHas(hubs[1]!, /clients changed on another instance/, 3_000);
    expect(heard).toBe(true);
    let status = 0;
    for (let i = 0; i < 20 && status !== 401; i++) {
      status = (await getJson(`${hubs[1]!.url}${path}`, bearer(KEYS.read))).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    // the drop-in forgets the key too
    await expect(coApiToken(hubs[1]!, OWN.appId, KEYS.read)).resolves.toMatchObject({ errcode: 40125 });
    // the others keep working
    expect(
      (await getJson(`${hubs[1]!.url}/api/v1/audit?appId=${OWN.appId}`, bearer(KEYS.operate))).status,
    ).toBe(200);
  });

  async function coApiToken(hub: Hub, appId: string, key: string): Promise<unknown> {
    return (
      await getJson(
        `${hub.url}/cgi-bin/token?grant_type=client_credential&appid=${appId}&secret=${encodeURIComponent(key)}`,
      )
    ).body;
  }
});

describe('failed authentications', () => {
  it('wrong drop-in secrets block the drop-in only, never the admin API of the same address', async () => {
    const dropIn = (secretOrKey: string) =>
      getJson<{ errcode: number; errmsg: string }>(
        `${hubs[0]!.url}/cgi-bin/token?grant_type=client_credential&appid=${OWN.appId}&secret=${encodeURIComponent(secretOrKey)}`,
      );
    let wrong = 0;
    while (wrong < 30 && (await dropIn(`${WRONG_KEY}${wrong}`)).body.errcode !== 45011) wrong++;
    expect(wrong).toBeLessThan(30);
    // a right key is refused too while the address is blocked: a guess must not learn it was right
    const blocked = await dropIn(KEYS.report);
    expect(blocked.body.errcode).toBe(45011);
    expect(blocked.body.errmsg).toMatch(/retry in \d+ s/);
    expect(
      (await getJson(`${hubs[0]!.url}/api/v1/accounts/${OWN.appId}/token`, bearer(ADMIN_KEY))).status,
    ).toBe(200);
  });

  it('wrong keys on the API answer 429 with Retry-After once the limit is reached, even for a right key', async () => {
    let wrong = 0;
    let status = 401;
    for (; wrong < 30 && status === 401; wrong++) {
      status = (await getJson(`${hubs[0]!.url}/api/v1/accounts`, bearer(`${WRONG_KEY}${wrong}`))).status;
    }
    expect(status).toBe(429);
    const blocked = await getJson<{ message: string }>(`${hubs[0]!.url}/api/v1/accounts`, bearer(ADMIN_KEY));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(blocked.body.message).toMatch(/too many failed authentications/);
  });
});

describe('the hubs output at LOG_LEVEL=debug', () => {
  it('holds no key and no secret, and names the clients', async () => {
    const output = hubs.flatMap((hub) => hub.output).join('\n');
    const secrets = [
      ADMIN_KEY,
      FLEET_OPS_KEY,
      ...Object.values(KEYS),
      OWN.appSecret,
      OTHER.appSecret,
      WRONG_KEY,
    ];
    for (const value of secrets) expect(output).not.toContain(value);
    expect(output).toMatch(/"client":"c-read","keyId":"key#[0-9a-f]{8}"/);
    for (const hub of hubs) {
      const metrics = await fetch(`${hub.url}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/wxhub_token_reads_total\{[^}]*client="c-read"[^}]*\} [1-9]/);
      for (const value of secrets) expect(metrics).not.toContain(value);
    }
  });
});
