import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { SimulatorAppStats, SimulatorStats } from '../src/sandbox/wechat-simulator';
import { SANDBOX_ADMIN_KEY } from '../src/sandbox/sandbox.constants';
import { getJson, postJson } from './support/http';
import { type ChildHandle, outputHas, startHub, startSimulator } from './support/processes';

/*
 * The admin REST API, the WeChat-compatible token endpoints and /health of real hub processes (dist/main.js)
 * against one simulator process. Every account belongs to exactly one hub, so the simulator's per-app
 * counters tell what each hub asked WeChat for.
 */

type Hub = ChildHandle & { url: string; port: number };
type Simulator = ChildHandle & { url: string };

interface Account {
  appId: string;
  appSecret: string;
  tokenEndpoint: 'stable' | 'legacy';
}

interface TokenBody {
  access_token: string;
  expires_in: number;
  expires_at: string;
  version: number;
  outcome?: string;
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

interface WechatBody {
  access_token?: string;
  expires_in?: number;
  errcode?: number;
  errmsg?: string;
}

interface HealthBody {
  status: string;
  store: { status: string };
  accounts: Record<string, string>;
}

interface ListingBody {
  accounts: { appId: string; status: string; foreignInvalidationsToday: number }[];
}

interface Reply<T> {
  status: number;
  headers: Headers;
  /** The raw response text, as a client would see it. */
  text: string;
  body: T;
}

/** `wx` + 16 alphanumerics, with a random 33-character secret that cannot appear anywhere by accident. */
function account(label: string, tokenEndpoint: Account['tokenEndpoint'] = 'stable'): Account {
  return {
    appId: `wx${label.padEnd(16, '0')}`,
    appSecret: `S${randomBytes(16).toString('hex')}`,
    tokenEndpoint,
  };
}

/** Same length, last character changed. */
function alter(text: string): string {
  return text.slice(0, -1) + (text.endsWith('x') ? 'y' : 'x');
}

const ADMIN = account('admin');
const LEGACY = account('legacy', 'legacy');
const COMPAT = account('compat');
const RECHECK = account('recheck');
const NO_KEYS = account('nokeys');
const ALLOW_NET = account('allownet');
const ALLOW_PROXY = account('allowproxy');
const ALLOW_LOCAL = account('allowlocal');
const BRUTE = account('brute');
const FAILING = account('failing');
const FAILING_LEGACY = account('failinglegacy', 'legacy');
const MAIN_ACCOUNTS = [ADMIN, LEGACY, COMPAT, RECHECK];
const ALL_ACCOUNTS = [
  ...MAIN_ACCOUNTS,
  NO_KEYS,
  ALLOW_NET,
  ALLOW_PROXY,
  ALLOW_LOCAL,
  BRUTE,
  FAILING,
  FAILING_LEGACY,
];
const UNKNOWN_APP_ID = 'wxunknown000000000';

const KEY = `key1${randomBytes(14).toString('hex')}`;
const SECOND_KEY = `key2${randomBytes(20).toString('hex')}`;
const WRONG_KEY_SAME_LENGTH = alter(KEY);

/** Every response text of the hubs, checked for secrets at the end. */
const responseTexts: string[] = [];
/** Every access_token value seen in this file. */
const seenTokens = new Set<string>();

let simulator: Simulator;
let hub: Hub;
let noKeysHub: Hub;
let allowNetHub: Hub;
let allowProxyHub: Hub;
let allowLocalHub: Hub;
let bruteHub: Hub;
let failingHub: Hub;

async function call<T>(
  url: string,
  options: {
    method?: string;
    key?: string;
    headers?: Record<string, string>;
    json?: unknown;
    rawBody?: string;
  } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.rawBody;
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await response.text();
  responseTexts.push(
    `${[...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n')}\n\n${text}`,
  );
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: the test sees the text
  }
  const token = (parsed as { access_token?: unknown } | undefined)?.access_token;
  if (typeof token === 'string') seenTokens.add(token);
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}

const tokenUrl = (target: Hub, appId: string): string => `${target.url}/api/v1/accounts/${appId}/token`;

function readToken(target: Hub, appId: string, key = KEY): Promise<Reply<TokenBody>> {
  return call<TokenBody>(tokenUrl(target, appId), { key });
}

function reportInvalid(appId: string, accessToken: string): Promise<Reply<TokenBody>> {
  return call<TokenBody>(`${tokenUrl(hub, appId)}/invalid`, {
    key: KEY,
    json: { access_token: accessToken },
  });
}

/** The token the hub currently hands out (asserting that the read itself worked). */
async function currentToken(appId: string): Promise<TokenBody> {
  const reply = await readToken(hub, appId);
  expect(reply.status).toBe(200);
  return reply.body;
}

async function simulatorStats(): Promise<SimulatorStats> {
  return (await getJson<SimulatorStats>(`${simulator.url}/sandbox/stats`)).body;
}

/** The simulator's counters of the given apps, and its global force_refresh count. */
async function upstream(
  ...accounts: Account[]
): Promise<{ byApp: Record<string, SimulatorAppStats>; forceCalls: number }> {
  const stats = await simulatorStats();
  return {
    byApp: Object.fromEntries(accounts.map((a) => [a.appId, stats.byApp[a.appId] as SimulatorAppStats])),
    forceCalls: stats.forceCalls,
  };
}

/**
 * Token calls for any appid, known or not, except those of the failing hub (which retries on its own schedule).
 * Calls for an appid the simulator does not know show up only here.
 */
function tokenCallsOutsideFailingHub(stats: SimulatorStats): number {
  const all = (stats.calls['/cgi-bin/token'] ?? 0) + (stats.calls['/cgi-bin/stable_token'] ?? 0);
  const failing = [FAILING, FAILING_LEGACY].reduce(
    (sum, { appId }) => sum + (stats.byApp[appId]?.token ?? 0) + (stats.byApp[appId]?.stableToken ?? 0),
    0,
  );
  return all - failing;
}

async function stateAtWechat(appId: string, accessToken: string): Promise<string> {
  const query = new URLSearchParams({ appid: appId, access_token: accessToken });
  return (await getJson<{ state: string }>(`${simulator.url}/sandbox/tokens/check?${query}`)).body.state;
}

/** Another party holding the credentials force-refreshes the stable token: the current one dies at once. */
async function foreignRefresh(appId: string): Promise<string> {
  const reply = await postJson<{ access_token: string }>(
    `${simulator.url}/sandbox/apps/${appId}/foreign-refresh`,
    {
      endpoint: 'stable',
    },
  );
  expect(reply.status).toBe(200);
  seenTokens.add(reply.body.access_token);
  return reply.body.access_token;
}

function expectErrorBody(reply: Reply<unknown>, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  expect((reply.body as ErrorBody).error).not.toBe('');
  expect((reply.body as ErrorBody).message).not.toBe('');
}

function hubEnv(accounts: Account[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    // the most verbose level: the secret checks at the end then cover every log line the hub can write
    LOG_LEVEL: 'trace',
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS: JSON.stringify(accounts),
    ...extra,
  };
}

beforeAll(async () => {
  simulator = await startSimulator({
    SANDBOX_APPS: JSON.stringify(ALL_ACCOUNTS.map(({ appId, appSecret }) => ({ appId, appSecret }))),
  });
  // before the failing hub starts, so that its very first token call is refused
  for (const { appId } of [FAILING, FAILING_LEGACY]) {
    const fault = await postJson(`${simulator.url}/sandbox/faults`, {
      kind: 'errcode',
      errcode: 40164,
      appId,
    });
    expect(fault.status).toBe(200);
  }
  const keys = `${KEY},${SECOND_KEY}`;
  [hub, noKeysHub, allowNetHub, allowProxyHub, allowLocalHub, bruteHub, failingHub] = await Promise.all([
    startHub(hubEnv(MAIN_ACCOUNTS, { ADMIN_API_KEYS: keys }), { name: 'hub' }),
    startHub(hubEnv([NO_KEYS]), { name: 'hub-no-keys' }),
    startHub(hubEnv([ALLOW_NET], { ADMIN_API_KEYS: keys, ADMIN_ALLOWED_IPS: '10.0.0.0/8' }), {
      name: 'hub-allow-net',
    }),
    startHub(
      hubEnv([ALLOW_PROXY], {
        ADMIN_API_KEYS: keys,
        ADMIN_ALLOWED_IPS: '10.0.0.0/8',
        TRUST_PROXY: '127.0.0.1',
      }),
      {
        name: 'hub-allow-proxy',
      },
    ),
    startHub(hubEnv([ALLOW_LOCAL], { ADMIN_API_KEYS: keys, ADMIN_ALLOWED_IPS: '127.0.0.1/32' }), {
      name: 'hub-allow-local',
    }),
    startHub(hubEnv([BRUTE], { ADMIN_API_KEYS: keys }), { name: 'hub-brute' }),
    startHub(hubEnv([FAILING, FAILING_LEGACY], { ADMIN_API_KEYS: keys }), { name: 'hub-failing' }),
  ]);
  // the tests start from live tokens (fetched at boot, or now)
  for (const { appId } of MAIN_ACCOUNTS) await currentToken(appId);
});

describe('token reads', () => {
  it.each([
    ['stable', ADMIN],
    ['legacy', LEGACY],
  ])(
    'a %s account token read answers the token WeChat accepts, with expires_in = seconds left',
    async (_, acct) => {
      const before = Date.now();
      const reply = await readToken(hub, acct.appId);

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        access_token: expect.any(String),
        expires_in: expect.any(Number),
        expires_at: expect.any(String),
        version: expect.any(Number),
      });
      const { access_token, expires_in, expires_at, version } = reply.body;
      expect(Number.isInteger(version) && version >= 1).toBe(true);
      const secondsLeft = (Date.parse(expires_at) - before) / 1000;
      expect(Math.abs(expires_in - secondsLeft)).toBeLessThanOrEqual(2);
      // the simulator issues 7200 s tokens and this file runs for far less than two minutes
      expect(expires_in).toBeGreaterThan(7200 - 120);
      expect(expires_in).toBeLessThanOrEqual(7200);
      await expect(stateAtWechat(acct.appId, access_token)).resolves.toBe('valid');
    },
  );

  it.each([
    ['stable', ADMIN],
    ['legacy', LEGACY],
  ])('repeated reads of a %s account token are served by the hub without calling WeChat', async (_, acct) => {
    const first = await currentToken(acct.appId);
    const before = await upstream(acct);

    const replies = await Promise.all(Array.from({ length: 10 }, () => readToken(hub, acct.appId)));
    for (let i = 0; i < 5; i++) replies.push(await readToken(hub, acct.appId));

    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body.access_token).toBe(first.access_token);
      expect(reply.body.version).toBe(first.version);
    }
    expect(await upstream(acct)).toEqual(before);
  });
});

describe('admin authentication', () => {
  it('a request without an Authorization header is refused with 401 and a JSON error body', async () => {
    const reply = await call(tokenUrl(hub, ADMIN.appId));

    expectErrorBody(reply, 401);
    expect(reply.text).not.toContain('access_token');
  });

  it('a wrong key is refused with 401', async () => {
    expectErrorBody(await readToken(hub, ADMIN.appId, 'not-the-right-key-at-all'), 401);
  });

  it('a wrong key of the same length as a configured key is refused with 401', async () => {
    expect(WRONG_KEY_SAME_LENGTH).toHaveLength(KEY.length);
    expect(WRONG_KEY_SAME_LENGTH).not.toBe(KEY);

    expectErrorBody(await readToken(hub, ADMIN.appId, WRONG_KEY_SAME_LENGTH), 401);
  });

  it('a configured key sent without the Bearer scheme is refused with 401', async () => {
    expectErrorBody(await call(tokenUrl(hub, ADMIN.appId), { headers: { authorization: KEY } }), 401);
  });

  it('a configured key as a Bearer token is accepted', async () => {
    const reply = await readToken(hub, ADMIN.appId, KEY);

    expect(reply.status).toBe(200);
    expect(reply.body.access_token).toEqual(expect.any(String));
  });

  it('the second configured key is accepted too', async () => {
    const reply = await readToken(hub, ADMIN.appId, SECOND_KEY);

    expect(reply.status).toBe(200);
    expect(reply.body.access_token).toBe((await currentToken(ADMIN.appId)).access_token);
  });

  describe('a hub with no ADMIN_API_KEYS (WECHAT_SANDBOX=false, accounts configured)', () => {
    it.each([
      ['no Authorization header', undefined],
      ['a key that works on another hub', KEY],
      ['the sandbox demo key', SANDBOX_ADMIN_KEY],
    ])('refuses every admin route with 401 given %s, and does nothing', async (_, key) => {
      const before = await upstream(NO_KEYS);
      const base = `${noKeysHub.url}/api/v1/accounts`;
      const replies = [
        await call(base, { key }),
        await call(`${base}/${NO_KEYS.appId}/token`, { key }),
        await call(`${base}/${NO_KEYS.appId}/token/invalid`, { key, json: { access_token: 'whatever' } }),
        await call(`${base}/${NO_KEYS.appId}/token/refresh`, { key, method: 'POST' }),
      ];

      for (const reply of replies) {
        expectErrorBody(reply, 401);
        expect(reply.text).not.toContain('access_token');
      }
      expect(await upstream(NO_KEYS)).toEqual(before);
    });
  });

  describe('brute force', () => {
    it('an address is answered 429 after 20 failed authentications, even with the right key', async () => {
      const failures = [];
      for (let i = 0; i < 20; i++)
        failures.push(await readToken(bruteHub, BRUTE.appId, `wrong-key-number-${i}-xxxxxxxx`));
      expect(failures.map((reply) => reply.status)).toEqual(Array(20).fill(401));

      expectErrorBody(await readToken(bruteHub, BRUTE.appId, 'wrong-key-number-21-xxxxxxxx'), 429);
      const blocked = await readToken(bruteHub, BRUTE.appId, KEY);
      expectErrorBody(blocked, 429);
      // README promises the time to wait
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    });

    // the block is per surface: wrong API keys do not stop the SDKs of that address on the drop-in, and wrong
    // drop-in secrets (anyone on the Internet can send them) do not lock an operator out of the admin API
    it('the block does not cover the WeChat-compatible token endpoint of that hub, which counts apart', async () => {
      const query = (secret: string): string =>
        new URLSearchParams({ grant_type: 'client_credential', appid: BRUTE.appId, secret }).toString();
      const served = await call<WechatBody>(`${bruteHub.url}/cgi-bin/token?${query(BRUTE.appSecret)}`);
      expect(served.status).toBe(200);
      expect(served.body.access_token).toEqual(expect.any(String));

      for (let i = 0; i < 20; i++) {
        const wrong = await call<WechatBody>(
          `${bruteHub.url}/cgi-bin/token?${query(`wrong-secret-${i}-xxxxxxxx`)}`,
        );
        expect(wrong.body.errcode).toBe(40125);
      }
      const blocked = await call<WechatBody>(`${bruteHub.url}/cgi-bin/token?${query(BRUTE.appSecret)}`);
      expect(blocked.status).toBe(200);
      expect(blocked.body.errcode).toBe(45011);
      expect(blocked.body.access_token).toBeUndefined();
    });
  });
});

describe('IP allow-list', () => {
  it('ADMIN_ALLOWED_IPS=10.0.0.0/8 refuses 127.0.0.1 with 403 even with the right key', async () => {
    const reply = await readToken(allowNetHub, ALLOW_NET.appId, KEY);

    expectErrorBody(reply, 403);
    expect(reply.text).not.toContain('access_token');
  });

  it('the allow-list is checked before the key: 403 also without one', async () => {
    expectErrorBody(await call(tokenUrl(allowNetHub, ALLOW_NET.appId)), 403);
  });

  it('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const reply = await call(tokenUrl(allowNetHub, ALLOW_NET.appId), {
      key: KEY,
      headers: { 'x-forwarded-for': '10.1.2.3' },
    });

    expectErrorBody(reply, 403);
  });

  it('with TRUST_PROXY=127.0.0.1 the forwarded address is believed and allowed', async () => {
    const reply = await call<TokenBody>(tokenUrl(allowProxyHub, ALLOW_PROXY.appId), {
      key: KEY,
      headers: { 'x-forwarded-for': '10.1.2.3' },
    });

    expect(reply.status).toBe(200);
    await expect(stateAtWechat(ALLOW_PROXY.appId, reply.body.access_token)).resolves.toBe('valid');
  });

  it('with TRUST_PROXY=127.0.0.1 the proxy itself is still not in the allow-list', async () => {
    expectErrorBody(await readToken(allowProxyHub, ALLOW_PROXY.appId, KEY), 403);
  });

  it('ADMIN_ALLOWED_IPS=127.0.0.1/32 lets 127.0.0.1 in with the right key', async () => {
    const reply = await readToken(allowLocalHub, ALLOW_LOCAL.appId, KEY);

    expect(reply.status).toBe(200);
    await expect(stateAtWechat(ALLOW_LOCAL.appId, reply.body.access_token)).resolves.toBe('valid');
  });
});

describe('unknown accounts and malformed reports', () => {
  it.each([
    ['GET', 'token', undefined],
    ['POST', 'token/invalid', { access_token: 'some-token' }],
    ['POST', 'token/refresh', undefined],
  ])(
    '%s /api/v1/accounts/<unknown appId>/%s answers 404 without calling WeChat',
    async (method, path, json) => {
      const before = await simulatorStats();

      const reply = await call(`${hub.url}/api/v1/accounts/${UNKNOWN_APP_ID}/${path}`, {
        method,
        key: KEY,
        json,
      });

      expectErrorBody(reply, 404);
      const after = await simulatorStats();
      expect(tokenCallsOutsideFailingHub(after)).toBe(tokenCallsOutsideFailingHub(before));
      expect(after.forceCalls).toBe(before.forceCalls);
    },
  );

  // the live token is used where the body could pass for a report, so a report that slipped through would be seen
  it.each<[string, (live: string) => { json?: unknown; rawBody?: string }]>([
    ['a missing access_token', () => ({ json: {} })],
    ['an empty access_token', () => ({ json: { access_token: '' } })],
    ['a non-string access_token', () => ({ json: { access_token: 12345 } })],
    ['an extra field', (live) => ({ json: { access_token: live, force: true } })],
    ['a JSON array', (live) => ({ json: [live] })],
    ['invalid JSON', (live) => ({ rawBody: `{"access_token": "${live}"` })],
  ])('a report with %s is refused with 400 and changes nothing', async (_, body) => {
    const live = await currentToken(ADMIN.appId);
    const before = await upstream(ADMIN);

    const reply = await call(`${tokenUrl(hub, ADMIN.appId)}/invalid`, {
      key: KEY,
      ...body(live.access_token),
    });

    expectErrorBody(reply, 400);
    expect(await upstream(ADMIN)).toEqual(before);
    const after = await currentToken(ADMIN.appId);
    expect(after.access_token).toBe(live.access_token);
    expect(after.version).toBe(live.version);
  });

  it('a report body over 64 KB is refused with 413 and changes nothing', async () => {
    const live = await currentToken(ADMIN.appId);
    const before = await upstream(ADMIN);

    const reply = await call(`${tokenUrl(hub, ADMIN.appId)}/invalid`, {
      key: KEY,
      json: { access_token: live.access_token, padding: 'x'.repeat(70_000) },
    });

    expectErrorBody(reply, 413);
    expect(await upstream(ADMIN)).toEqual(before);
    expect((await currentToken(ADMIN.appId)).version).toBe(live.version);
  });
});

describe('invalid-token reports', () => {
  let killedByForeignRefresh: string;

  it("after another party's force refresh, a report of the killed token gets the new one without forcing", async () => {
    const old = await currentToken(ADMIN.appId);
    const issuedElsewhere = await foreignRefresh(ADMIN.appId);
    await expect(stateAtWechat(ADMIN.appId, old.access_token)).resolves.toBe('invalid');
    const before = await upstream(ADMIN);

    const reply = await reportInvalid(ADMIN.appId, old.access_token);

    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('refreshed');
    expect(reply.body.access_token).toBe(issuedElsewhere);
    expect(reply.body.version).toBeGreaterThan(old.version);
    await expect(stateAtWechat(ADMIN.appId, reply.body.access_token)).resolves.toBe('valid');
    const after = await upstream(ADMIN);
    expect(after.forceCalls - before.forceCalls).toBe(0);
    expect(after.byApp[ADMIN.appId]?.stableTokenForce).toBe(before.byApp[ADMIN.appId]?.stableTokenForce);
    expect((await currentToken(ADMIN.appId)).access_token).toBe(issuedElsewhere);
    killedByForeignRefresh = old.access_token;
  });

  it('a report of a token that is no longer current is stale: the current token, no upstream call', async () => {
    expect(killedByForeignRefresh).toEqual(expect.any(String));
    const current = await currentToken(ADMIN.appId);
    const before = await simulatorStats();

    const reply = await reportInvalid(ADMIN.appId, killedByForeignRefresh);

    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('stale-report');
    expect(reply.body.access_token).toBe(current.access_token);
    expect(reply.body.version).toBe(current.version);
    const after = await simulatorStats();
    expect(after.byApp[ADMIN.appId]).toEqual(before.byApp[ADMIN.appId]);
    expect(after.forceCalls).toBe(before.forceCalls);
  });

  it('a report of the live token is a false report: the token is kept and nothing is forced', async () => {
    const live = await currentToken(ADMIN.appId);
    const before = await upstream(ADMIN);

    const reply = await reportInvalid(ADMIN.appId, live.access_token);

    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('false-report');
    expect(reply.body.access_token).toBe(live.access_token);
    expect(reply.body.version).toBe(live.version);
    const after = await upstream(ADMIN);
    expect(after.forceCalls - before.forceCalls).toBe(0);
    expect(after.byApp[ADMIN.appId]?.stableTokenForce).toBe(before.byApp[ADMIN.appId]?.stableTokenForce);
    await expect(stateAtWechat(ADMIN.appId, live.access_token)).resolves.toBe('valid');
  });

  it('the account listing counts the foreign invalidation and shows no secret and no token', async () => {
    const reply = await call<ListingBody>(`${hub.url}/api/v1/accounts`, { key: KEY });

    expect(reply.status).toBe(200);
    expect(reply.body.accounts.map((a) => a.appId).sort()).toEqual(MAIN_ACCOUNTS.map((a) => a.appId).sort());
    const admin = reply.body.accounts.find((a) => a.appId === ADMIN.appId);
    expect(admin?.foreignInvalidationsToday).toBeGreaterThanOrEqual(1);
    expect(admin?.status).toBe('live');
    expect(seenTokens.size).toBeGreaterThanOrEqual(MAIN_ACCOUNTS.length + 1);
    for (const { appSecret } of ALL_ACCOUNTS) expect(reply.text).not.toContain(appSecret);
    for (const token of seenTokens) expect(reply.text).not.toContain(token);
    expect(reply.text).not.toContain('access_token');
  });

  // BUG (reported): a false-report verdict is cached for 5 s (VERIFIED_LIVE_MS in token-refresher.ts) and
  // answers later reports of the same token without asking WeChat, so a token killed meanwhile is handed back.
  it('a token killed right after a false report of it is replaced when reported again', async () => {
    const live = await currentToken(RECHECK.appId);
    expect((await reportInvalid(RECHECK.appId, live.access_token)).body.outcome).toBe('false-report');
    const issuedElsewhere = await foreignRefresh(RECHECK.appId);
    await expect(stateAtWechat(RECHECK.appId, live.access_token)).resolves.toBe('invalid');

    const reply = await reportInvalid(RECHECK.appId, live.access_token);

    expect(reply.status).toBe(200);
    expect({ outcome: reply.body.outcome, token: reply.body.access_token }).toEqual({
      outcome: 'refreshed',
      token: issuedElsewhere,
    });
    await expect(stateAtWechat(RECHECK.appId, reply.body.access_token)).resolves.toBe('valid');
  });
});

describe('forced refresh', () => {
  it("an operator's forced refresh answers a new token and WeChat no longer accepts the old one", async () => {
    const old = await currentToken(ADMIN.appId);
    const before = await upstream(ADMIN);

    const reply = await call<TokenBody>(`${tokenUrl(hub, ADMIN.appId)}/refresh`, {
      method: 'POST',
      key: KEY,
    });

    expect(reply.status).toBe(200);
    expect(reply.body.access_token).not.toBe(old.access_token);
    expect(reply.body.version).toBeGreaterThan(old.version);
    await expect(stateAtWechat(ADMIN.appId, old.access_token)).resolves.toBe('invalid');
    await expect(stateAtWechat(ADMIN.appId, reply.body.access_token)).resolves.toBe('valid');
    const after = await upstream(ADMIN);
    expect(after.byApp[ADMIN.appId]?.stableTokenForce).toBe(
      (before.byApp[ADMIN.appId]?.stableTokenForce ?? 0) + 1,
    );
    expect((await currentToken(ADMIN.appId)).access_token).toBe(reply.body.access_token);
  });

  it('a second forced refresh right after is refused with 429 and Retry-After, and changes nothing', async () => {
    const current = await currentToken(ADMIN.appId);
    const before = await upstream(ADMIN);

    const reply = await call(`${tokenUrl(hub, ADMIN.appId)}/refresh`, { method: 'POST', key: KEY });

    expectErrorBody(reply, 429);
    const retryAfter = Number(reply.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(await upstream(ADMIN)).toEqual(before);
    expect((await currentToken(ADMIN.appId)).access_token).toBe(current.access_token);
  });
});

describe('WeChat-compatible token endpoints', () => {
  const compatToken = (params: Record<string, string | undefined>): Promise<Reply<WechatBody>> => {
    const query = new URLSearchParams(
      Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return call<WechatBody>(`${hub.url}/cgi-bin/token?${query}`);
  };
  const stableToken = (body: unknown): Promise<Reply<WechatBody>> =>
    call<WechatBody>(`${hub.url}/cgi-bin/stable_token`, { json: body });

  it.each([
    ['GET /cgi-bin/token', 'stable', COMPAT],
    ['GET /cgi-bin/token', 'legacy', LEGACY],
    ['POST /cgi-bin/stable_token', 'stable', COMPAT],
    ['POST /cgi-bin/stable_token', 'legacy', LEGACY],
  ])(
    '%s with the right credentials of a %s account answers the hub token without calling WeChat',
    async (route, _, acct) => {
      const hubToken = await currentToken(acct.appId);
      const before = await upstream(...MAIN_ACCOUNTS);

      const credentials = { grant_type: 'client_credential', appid: acct.appId, secret: acct.appSecret };
      const reply = route.startsWith('GET') ? await compatToken(credentials) : await stableToken(credentials);

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ access_token: hubToken.access_token, expires_in: expect.any(Number) });
      expect(Math.abs((reply.body.expires_in ?? 0) - hubToken.expires_in)).toBeLessThanOrEqual(2);
      expect(await upstream(...MAIN_ACCOUNTS)).toEqual(before);
    },
  );

  const grant = 'client_credential';
  const errorCases: [string, number, Record<string, string | undefined>][] = [
    [
      'a grant_type other than client_credential',
      40002,
      { grant_type: 'password', appid: COMPAT.appId, secret: COMPAT.appSecret },
    ],
    ['no appid', 41002, { grant_type: grant, secret: COMPAT.appSecret }],
    ['no secret', 41004, { grant_type: grant, appid: COMPAT.appId }],
    [
      'an appid the hub does not serve',
      40013,
      { grant_type: grant, appid: UNKNOWN_APP_ID, secret: COMPAT.appSecret },
    ],
    ['a wrong secret', 40125, { grant_type: grant, appid: COMPAT.appId, secret: alter(COMPAT.appSecret) }],
  ];

  describe.each(['GET /cgi-bin/token', 'POST /cgi-bin/stable_token'])('%s', (route) => {
    it.each(errorCases)(
      'with %s answers WeChat errcode %d (HTTP 200) without calling WeChat',
      async (_, errcode, params) => {
        const before = await simulatorStats();

        const reply = route.startsWith('GET') ? await compatToken(params) : await stableToken(params);

        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ errcode, errmsg: expect.any(String) });
        const after = await simulatorStats();
        for (const { appId } of MAIN_ACCOUNTS) expect(after.byApp[appId]).toEqual(before.byApp[appId]);
        expect(tokenCallsOutsideFailingHub(after)).toBe(tokenCallsOutsideFailingHub(before));
        expect(after.forceCalls).toBe(before.forceCalls);
      },
    );
  });

  it('GET /cgi-bin/stable_token answers errcode 43002 (require POST)', async () => {
    const query = new URLSearchParams({ grant_type: grant, appid: COMPAT.appId, secret: COMPAT.appSecret });
    const reply = await call<WechatBody>(`${hub.url}/cgi-bin/stable_token?${query}`);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ errcode: 43002, errmsg: expect.any(String) });
  });

  it('POST /cgi-bin/stable_token with malformed JSON answers errcode 47001 (HTTP 200)', async () => {
    const before = await upstream(...MAIN_ACCOUNTS);

    const reply = await call<WechatBody>(`${hub.url}/cgi-bin/stable_token`, {
      rawBody: `{"grant_type": "client_credential", "appid": "${COMPAT.appId}", "secret": `,
    });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ errcode: 47001, errmsg: expect.any(String) });
    expect(await upstream(...MAIN_ACCOUNTS)).toEqual(before);
  });

  it("force_refresh: true after another party's force refresh answers the new valid token without forcing", async () => {
    const old = await currentToken(COMPAT.appId);
    const issuedElsewhere = await foreignRefresh(COMPAT.appId);
    const before = await upstream(COMPAT);

    const reply = await stableToken({
      grant_type: grant,
      appid: COMPAT.appId,
      secret: COMPAT.appSecret,
      force_refresh: true,
    });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ access_token: issuedElsewhere, expires_in: expect.any(Number) });
    expect(reply.body.access_token).not.toBe(old.access_token);
    await expect(stateAtWechat(COMPAT.appId, issuedElsewhere)).resolves.toBe('valid');
    const after = await upstream(COMPAT);
    expect(after.forceCalls).toBe(before.forceCalls);
    expect(after.byApp[COMPAT.appId]?.stableTokenForce).toBe(before.byApp[COMPAT.appId]?.stableTokenForce);
    expect((await currentToken(COMPAT.appId)).access_token).toBe(issuedElsewhere);
  });

  it('force_refresh: true with a live token answers that same token and forces nothing at WeChat', async () => {
    const live = await currentToken(COMPAT.appId);
    const before = await upstream(COMPAT);

    const reply = await stableToken({
      grant_type: grant,
      appid: COMPAT.appId,
      secret: COMPAT.appSecret,
      force_refresh: true,
    });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ access_token: live.access_token, expires_in: expect.any(Number) });
    const after = await upstream(COMPAT);
    expect(after.forceCalls).toBe(before.forceCalls);
    expect(after.byApp[COMPAT.appId]?.stableTokenForce).toBe(before.byApp[COMPAT.appId]?.stableTokenForce);
    await expect(stateAtWechat(COMPAT.appId, live.access_token)).resolves.toBe('valid');
  });
});

describe('health', () => {
  it('answers 200 with status ok while every account has a live token', async () => {
    const reply = await call<HealthBody>(`${hub.url}/health`, { key: KEY });

    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('ok');
    expect(reply.body.store.status).toBe('up');
    expect(reply.body.accounts).toEqual(Object.fromEntries(MAIN_ACCOUNTS.map((a) => [a.appId, 'live'])));
  });
});

describe('while WeChat refuses every token call (errcode 40164 from the start)', () => {
  let health: Reply<HealthBody>;

  beforeAll(async () => {
    // the first token calls leave at boot; until they are answered the accounts count as refreshing
    health = await call<HealthBody>(`${failingHub.url}/health`, { key: KEY });
    for (const deadline = Date.now() + 10_000; health.status !== 503 && Date.now() < deadline;) {
      await delay(100);
      health = await call<HealthBody>(`${failingHub.url}/health`, { key: KEY });
    }
  });

  it('health answers 503 with the accounts failing, and the cause is logged by its errcode', async () => {
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('error');
    expect(health.body.accounts).toEqual({ [FAILING.appId]: 'failing', [FAILING_LEGACY.appId]: 'failing' });
    const stats = await upstream(FAILING, FAILING_LEGACY);
    expect(stats.byApp[FAILING.appId]?.stableToken).toBeGreaterThanOrEqual(1);
    expect(stats.byApp[FAILING_LEGACY.appId]?.token).toBeGreaterThanOrEqual(1);
    expect(
      await outputHas(failingHub, (line) => line.includes(FAILING.appId) && line.includes('40164')),
    ).toBe(true);
  });

  it('an admin token read answers 503 with Retry-After', async () => {
    const reply = await readToken(failingHub, FAILING.appId);

    expectErrorBody(reply, 503);
    expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['GET /cgi-bin/token', FAILING_LEGACY],
    ['POST /cgi-bin/stable_token', FAILING],
  ])('%s with the right credentials answers errcode -1 (HTTP 200)', async (route, acct) => {
    const credentials = { grant_type: 'client_credential', appid: acct.appId, secret: acct.appSecret };
    const reply = route.startsWith('GET')
      ? await call<WechatBody>(`${failingHub.url}/cgi-bin/token?${new URLSearchParams(credentials)}`)
      : await call<WechatBody>(`${failingHub.url}/cgi-bin/stable_token`, { json: credentials });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ errcode: -1, errmsg: expect.any(String) });
  });
});

describe('secrets', () => {
  it('no response and no hub output line contains an AppSecret', () => {
    const hubs = [hub, noKeysHub, allowNetHub, allowProxyHub, allowLocalHub, bruteHub, failingHub];
    expect(responseTexts.length).toBeGreaterThan(50);
    expect(hubs.every((h) => h.output.length > 0)).toBe(true);

    const leaks: string[] = [];
    for (const { appId, appSecret } of ALL_ACCOUNTS) {
      for (const text of responseTexts) if (text.includes(appSecret)) leaks.push(`response: ${text}`);
      for (const h of hubs) {
        for (const line of h.output)
          if (line.includes(appSecret)) leaks.push(`${h.name} (secret of ${appId}): ${line}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
