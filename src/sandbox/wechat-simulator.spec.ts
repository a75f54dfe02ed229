import { fetchRead } from '../../test/support/http';
import { readSandboxSettings, SandboxEnvError } from './main';
import { WechatSimulator, type SimulatorFault } from './wechat-simulator';

const APP_A = { appId: 'wxsimulatorapp000a', appSecret: 'secret-A-5d0b7f7e6c2a4f0e9b1d3c8a7e6f5a4b' };
const APP_B = { appId: 'wxsimulatorapp000b', appSecret: 'secret-B-0f1e2d3c4b5a69788796a5b4c3d2e1f0' };
const SECRETS = [APP_A.appSecret, APP_B.appSecret, 'secret-C-added-over-http-9f8e7d6c5b4a'];
/** 01:00 Beijing time, so two simulated hours never cross a quota day. */
const START = Date.UTC(2025, 0, 1, 17, 0, 0);
const DAY_MS = 86_400_000;
const RID = / rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;

interface Answer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience for reading JSON fields
  json: any;
}

const seenBodies: string[] = [];
let clock = START;
const sim = new WechatSimulator({ apps: [APP_A, APP_B], now: () => clock });
let base = '';

async function call(path: string, init?: RequestInit): Promise<Answer> {
  const answer = await fetchRead(base + path, init);
  seenBodies.push(answer.text);
  return answer;
}

function post(path: string, body: unknown): Promise<Answer> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function legacy(app = APP_A): Promise<Answer> {
  const query = new URLSearchParams({
    grant_type: 'client_credential',
    appid: app.appId,
    secret: app.appSecret,
  });
  return call(`/cgi-bin/token?${query.toString()}`);
}

function stable(app = APP_A, force?: boolean): Promise<Answer> {
  return post('/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: app.appId,
    secret: app.appSecret,
    ...(force === undefined ? {} : { force_refresh: force }),
  });
}

function business(token: string, path = '/cgi-bin/getcallbackip'): Promise<Answer> {
  return call(`${path}?access_token=${encodeURIComponent(token)}`);
}

async function tokenOf(answer: Promise<Answer>): Promise<string> {
  const { json } = await answer;
  expect(typeof json.access_token).toBe('string');
  return json.access_token as string;
}

async function errcodeOf(answer: Promise<Answer>): Promise<number | undefined> {
  const { json } = await answer;
  if (json.errcode !== undefined) expect(json.errmsg).toMatch(RID);
  return json.errcode as number | undefined;
}

function advance(seconds: number): void {
  clock += seconds * 1000;
}

beforeAll(async () => {
  base = await sim.listen();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  clock = START;
  sim.reset();
  sim.configure({
    tokenLifetimeSeconds: 7200,
    overlapSeconds: 300,
    forceMinIntervalSeconds: 30,
    forceDailyLimit: 20,
    legacyDailyQuota: 2000,
  });
});

describe('GET /cgi-bin/token (classic)', () => {
  it('issues a fresh, unguessable base64url token with the configured lifetime on every call', async () => {
    const first = await legacy();
    const second = await legacy();
    expect(first.json.expires_in).toBe(7200);
    expect(first.json.access_token).toMatch(/^[A-Za-z0-9_-]{120,}$/);
    expect(second.json.access_token).not.toBe(first.json.access_token);
    expect(sim.stats().byApp[APP_A.appId]?.tokensIssued).toBe(2);
  });

  it('keeps the previous token valid for overlapSeconds after a rotation, then answers 42001', async () => {
    const old = await tokenOf(legacy());
    advance(1000);
    const fresh = await tokenOf(legacy());
    advance(299);
    expect((await business(old)).json.ip_list).toContain('101.226.103.0/25');
    advance(1);
    expect(await errcodeOf(business(old))).toBe(42001);
    expect((await business(fresh)).json.ip_list).toBeDefined();
  });

  it('does not extend a token older than the current one when rotating again', async () => {
    const oldest = await tokenOf(legacy());
    const middle = await tokenOf(legacy());
    advance(200);
    await legacy();
    advance(100);
    expect(sim.checkToken(APP_A.appId, oldest)).toBe('expired');
    expect(sim.checkToken(APP_A.appId, middle)).toBe('valid');
    advance(200);
    expect(sim.checkToken(APP_A.appId, middle)).toBe('expired');
  });

  it('lets a token expire naturally after its lifetime', async () => {
    sim.configure({ tokenLifetimeSeconds: 30 });
    const token = await tokenOf(legacy());
    advance(29.9);
    expect(await errcodeOf(business(token))).toBeUndefined();
    advance(0.1);
    expect(await errcodeOf(business(token))).toBe(42001);
  });

  it('answers 45009 once the daily quota is used, and again issues tokens the next Beijing day', async () => {
    sim.configure({ legacyDailyQuota: 2 });
    await tokenOf(legacy());
    const last = await tokenOf(legacy());
    expect(await errcodeOf(legacy())).toBe(45009);
    expect(sim.checkToken(APP_A.appId, last)).toBe('valid');
    expect(await tokenOf(legacy(APP_B))).toBeDefined();
    advance(DAY_MS / 1000);
    expect(await tokenOf(legacy())).toBeDefined();
  });

  it('rotates with a real clock scaled down to seconds', async () => {
    const real = new WechatSimulator({ apps: [APP_A], tokenLifetimeSeconds: 3, overlapSeconds: 1 });
    const url = await real.listen();
    try {
      const get = async (): Promise<string> => {
        const query = new URLSearchParams({
          grant_type: 'client_credential',
          appid: APP_A.appId,
          secret: APP_A.appSecret,
        });
        const body = (await (await fetch(`${url}/cgi-bin/token?${query.toString()}`)).json()) as {
          access_token: string;
        };
        return body.access_token;
      };
      const old = await get();
      const fresh = await get();
      expect(real.checkToken(APP_A.appId, old)).toBe('valid');
      await new Promise((resolve) => setTimeout(resolve, 1050));
      const answer = (await (await fetch(`${url}/cgi-bin/getcallbackip?access_token=${old}`)).json()) as {
        errcode: number;
      };
      expect(answer.errcode).toBe(42001);
      expect(real.checkToken(APP_A.appId, fresh)).toBe('valid');
    } finally {
      await real.close();
    }
  });
});

describe.each([
  [
    'GET /cgi-bin/token',
    (params: Record<string, string>) => call(`/cgi-bin/token?${new URLSearchParams(params).toString()}`),
  ],
  ['POST /cgi-bin/stable_token', (params: Record<string, string>) => post('/cgi-bin/stable_token', params)],
])('credential validation of %s', (_name, request) => {
  const good = { grant_type: 'client_credential', appid: APP_A.appId, secret: APP_A.appSecret };
  it.each([
    ['no grant_type', { appid: good.appid, secret: good.secret }, 40002, 'invalid grant_type'],
    ['a wrong grant_type, before anything else', { grant_type: 'password' }, 40002, 'invalid grant_type'],
    ['no appid', { grant_type: good.grant_type, secret: good.secret }, 41002, 'appid missing'],
    ['no secret', { grant_type: good.grant_type, appid: good.appid }, 41004, 'appsecret missing'],
    ['an unknown appid', { ...good, appid: 'wxunknown', secret: 'whatever' }, 40013, 'invalid appid'],
    ['a wrong secret', { ...good, secret: APP_B.appSecret }, 40125, 'invalid appsecret'],
  ])('rejects %s', async (_case, params, errcode, errmsg) => {
    const answer = await request(params);
    expect(answer.status).toBe(200);
    expect(answer.json.errcode).toBe(errcode);
    expect(answer.json.errmsg).toMatch(new RegExp(`^${errmsg}${RID.source}`));
    expect(sim.stats().byApp[APP_A.appId]?.tokensIssued).toBe(0);
  });
});

describe('POST /cgi-bin/stable_token', () => {
  it('returns the same token until its last overlap window, then a new one while the old one still works', async () => {
    const first = await stable();
    expect(first.json.expires_in).toBe(7200);
    advance(100);
    const again = await stable();
    expect(again.json).toEqual({ access_token: first.json.access_token, expires_in: 7100 });
    advance(6799);
    expect((await stable()).json).toEqual({ access_token: first.json.access_token, expires_in: 301 });
    advance(1);
    const rotated = await stable();
    expect(rotated.json.access_token).not.toBe(first.json.access_token);
    expect(rotated.json.expires_in).toBe(7200);
    expect(await errcodeOf(business(first.json.access_token))).toBeUndefined();
    advance(300);
    expect(await errcodeOf(business(first.json.access_token))).toBe(42001);
    expect(await errcodeOf(business(rotated.json.access_token))).toBeUndefined();
    expect(sim.stats().byApp[APP_A.appId]).toMatchObject({ stableToken: 4, tokensIssued: 2 });
  });

  it('force_refresh kills the current token at once (40001) and issues a new one', async () => {
    const old = await tokenOf(stable());
    const forced = await stable(APP_A, true);
    expect(forced.json.access_token).not.toBe(old);
    expect(forced.json.expires_in).toBe(7200);
    expect(await errcodeOf(business(old))).toBe(40001);
    expect(await errcodeOf(business(forced.json.access_token))).toBeUndefined();
    expect(await tokenOf(stable())).toBe(forced.json.access_token);
  });

  it('does not refresh for a force call within forceMinIntervalSeconds of the last one', async () => {
    const first = await tokenOf(stable(APP_A, true));
    advance(29);
    const tooSoon = await stable(APP_A, true);
    expect(tooSoon.json).toEqual({ access_token: first, expires_in: 7171 });
    expect(sim.checkToken(APP_A.appId, first)).toBe('valid');
    advance(1);
    const second = await tokenOf(stable(APP_A, true));
    expect(second).not.toBe(first);
    expect(sim.checkToken(APP_A.appId, first)).toBe('invalid');
    expect(sim.stats()).toMatchObject({ forceCalls: 3 });
    expect(sim.stats().byApp[APP_A.appId]).toMatchObject({
      stableToken: 3,
      stableTokenForce: 3,
      tokensIssued: 2,
    });
  });

  it('answers 45009 once forceDailyLimit force calls were made today, normal mode still works', async () => {
    sim.configure({ forceDailyLimit: 2, forceMinIntervalSeconds: 0 });
    await tokenOf(stable(APP_A, true));
    const second = await tokenOf(stable(APP_A, true));
    expect(await errcodeOf(stable(APP_A, true))).toBe(45009);
    expect(sim.checkToken(APP_A.appId, second)).toBe('valid');
    expect(await tokenOf(stable())).toBe(second);
    expect(await tokenOf(stable(APP_B, true))).toBeDefined();
    advance(DAY_MS / 1000);
    expect(await tokenOf(stable(APP_A, true))).not.toBe(second);
  });

  it('is isolated from the classic token in both directions', async () => {
    const classic = await tokenOf(legacy());
    const stableToken = await tokenOf(stable());
    await tokenOf(stable(APP_A, true));
    expect(sim.checkToken(APP_A.appId, classic)).toBe('valid');
    const current = await tokenOf(stable());
    await legacy();
    advance(301);
    expect(await errcodeOf(business(classic))).toBe(42001);
    expect(await tokenOf(stable())).toBe(current);
    expect(sim.checkToken(APP_A.appId, current)).toBe('valid');
    expect(sim.checkToken(APP_A.appId, stableToken)).toBe('invalid');
  });

  it('answers 43002 to GET', async () => {
    const query = new URLSearchParams({
      grant_type: 'client_credential',
      appid: APP_A.appId,
      secret: APP_A.appSecret,
    });
    expect(await errcodeOf(call(`/cgi-bin/stable_token?${query.toString()}`))).toBe(43002);
  });

  it.each([
    ['malformed JSON', '{"grant_type":'],
    ['a JSON array', '[]'],
    ['an empty body', ''],
  ])('answers 47001 to %s', async (_case, body) => {
    expect(await errcodeOf(post('/cgi-bin/stable_token', body))).toBe(47001);
  });

  it('accepts a JSON body sent without a JSON content type', async () => {
    const answer = await call('/cgi-bin/stable_token', {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'client_credential', appid: APP_A.appId, secret: APP_A.appSecret }),
    });
    expect(answer.json.access_token).toBeDefined();
  });
});

describe('business endpoints', () => {
  it('validate the token: 41001 missing, 40001 unknown, ip list when valid', async () => {
    expect(await errcodeOf(call('/cgi-bin/getcallbackip'))).toBe(41001);
    expect(await errcodeOf(business('not-a-token'))).toBe(40001);
    const token = await tokenOf(stable());
    expect((await business(token, '/cgi-bin/get_api_domain_ip')).json.ip_list.length).toBeGreaterThan(0);
    expect(sim.stats().byApp[APP_A.appId]?.business).toBe(1);
  });
});

describe('control surface', () => {
  it('foreign stable refresh kills the hub token and the next normal call returns the new one, uncounted', async () => {
    const mine = await tokenOf(stable());
    const before = sim.stats();
    const foreign = await post(`/sandbox/apps/${APP_A.appId}/foreign-refresh`, { endpoint: 'stable' });
    expect(foreign.status).toBe(200);
    expect(await errcodeOf(business(mine))).toBe(40001);
    const next = await stable();
    expect(next.json.access_token).toBe(foreign.json.access_token);
    const after = sim.stats();
    expect(after.calls['/cgi-bin/stable_token']).toBe((before.calls['/cgi-bin/stable_token'] ?? 0) + 1);
    expect(after.byApp[APP_A.appId]?.tokensIssued).toBe(before.byApp[APP_A.appId]?.tokensIssued);
  });

  it('foreign legacy refresh starts the overlap of the hub token', async () => {
    const mine = await tokenOf(legacy());
    const foreign = await post(`/sandbox/apps/${APP_A.appId}/foreign-refresh`, { endpoint: 'legacy' });
    expect(foreign.json.access_token).not.toBe(mine);
    advance(299);
    expect(sim.checkToken(APP_A.appId, mine)).toBe('valid');
    advance(1);
    expect(await errcodeOf(business(mine))).toBe(42001);
    expect(sim.stats().byApp[APP_A.appId]).toMatchObject({ token: 1, tokensIssued: 1 });
  });

  it('revoke makes a token answer 40001 and the next normal stable call issue a new one', async () => {
    const token = await tokenOf(stable());
    expect((await post(`/sandbox/apps/${APP_A.appId}/revoke`, { access_token: token })).status).toBe(200);
    expect(await errcodeOf(business(token))).toBe(40001);
    expect(await tokenOf(stable())).not.toBe(token);
    expect((await post(`/sandbox/apps/${APP_B.appId}/revoke`, { access_token: token })).status).toBe(404);
    expect((await post(`/sandbox/apps/wxnobody/foreign-refresh`, { endpoint: 'stable' })).status).toBe(404);
    expect((await post(`/sandbox/apps/${APP_A.appId}/foreign-refresh`, { endpoint: 'x' })).status).toBe(400);
  });

  it('reports token state over HTTP, treating another app as invalid', async () => {
    const token = await tokenOf(legacy());
    const check = async (appId: string): Promise<unknown> =>
      (await call(`/sandbox/tokens/check?appid=${appId}&access_token=${token}`)).json.state;
    expect(await check(APP_A.appId)).toBe('valid');
    expect(await check(APP_B.appId)).toBe('invalid');
    advance(7200);
    expect(await check(APP_A.appId)).toBe('expired');
    expect((await call(`/sandbox/tokens/check?appid=${APP_A.appId}`)).status).toBe(400);
  });

  it('adds apps and changes timing at runtime, rejecting bad input with 400', async () => {
    const appC = { appId: 'wxsimulatorapp000c', appSecret: SECRETS[2] as string };
    const added = await post('/sandbox/apps', appC);
    expect(added.json).toEqual({ ok: true, appId: appC.appId });
    expect((await post('/sandbox/apps', { appId: 'x' })).status).toBe(400);
    expect((await post('/sandbox/config', { tokenLifetimeSeconds: 30 })).json.tokenLifetimeSeconds).toBe(30);
    expect((await legacy(appC)).json.expires_in).toBe(30);
    const bad = await post('/sandbox/config', { overlapSeconds: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('overlapSeconds');
    expect((await post('/sandbox/config', { lifetime: 5 })).status).toBe(400);
    expect((await call('/sandbox/config')).json.overlapSeconds).toBe(300);
  });

  it('reset forgets tokens, quotas, faults and counters but keeps apps and timing', async () => {
    sim.configure({ legacyDailyQuota: 1 });
    const token = await tokenOf(legacy());
    sim.injectFault({ kind: 'busy', paths: ['/cgi-bin/getcallbackip'] });
    expect((await post('/sandbox/reset', {})).json).toEqual({ ok: true });
    expect(sim.checkToken(APP_A.appId, token)).toBe('invalid');
    expect(sim.stats()).toMatchObject({ faultsActive: 0, forceCalls: 0 });
    expect(sim.stats().calls['/cgi-bin/token']).toBe(0);
    expect(await tokenOf(legacy())).toBeDefined();
    expect(await errcodeOf(legacy())).toBe(45009);
  });
});

describe('fault injection', () => {
  it('busy answers errcode -1 with a rid, counts the call, issues nothing, and expires after `times`', async () => {
    const id = sim.injectFault({ kind: 'busy', times: 1 });
    expect(id).toEqual(expect.any(String));
    const busy = await legacy();
    expect(busy.json.errcode).toBe(-1);
    expect(busy.json.errmsg).toMatch(new RegExp(`^system error${RID.source}`));
    expect(sim.stats()).toMatchObject({ faultsActive: 0 });
    expect(sim.stats().byApp[APP_A.appId]).toMatchObject({ token: 1, tokensIssued: 0 });
    expect(await tokenOf(legacy())).toBeDefined();
  });

  it('http500 answers HTTP 500 with a text body', async () => {
    const { id } = (await post('/sandbox/faults', { kind: 'http500' })).json as { id: string };
    expect(id).toEqual(expect.any(String));
    const answer = await stable();
    expect(answer.status).toBe(500);
    expect(answer.json).toBeUndefined();
    expect(answer.text.length).toBeGreaterThan(0);
    expect(sim.stats().calls['/cgi-bin/stable_token']).toBe(1);
  });

  it('errcode applies only to the chosen app and paths, including the app owning an access_token', async () => {
    const tokenB = await tokenOf(stable(APP_B));
    const tokenA = await tokenOf(stable(APP_A));
    sim.injectFault({
      kind: 'errcode',
      errcode: 40164,
      errmsg: 'invalid ip 127.0.0.1, not in whitelist',
      appId: APP_A.appId,
      paths: ['/cgi-bin/token', '/cgi-bin/getcallbackip'],
    });
    const refused = await legacy(APP_A);
    expect(refused.json.errcode).toBe(40164);
    expect(refused.json.errmsg).toMatch(
      new RegExp(`^invalid ip 127\\.0\\.0\\.1, not in whitelist${RID.source}`),
    );
    expect(await errcodeOf(business(tokenA))).toBe(40164);
    expect(await errcodeOf(business(tokenB))).toBeUndefined();
    expect(await tokenOf(legacy(APP_B))).toBeDefined();
    expect(await tokenOf(stable(APP_A))).toBe(tokenA);
  });

  it('latency delays the answer, then answers normally', async () => {
    sim.injectFault({ kind: 'latency', latencyMs: 200, times: 1 });
    const started = performance.now();
    const token = await tokenOf(legacy());
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(sim.checkToken(APP_A.appId, token)).toBe('valid');
  });

  it('hang never answers; the client gives up and close() still finishes promptly', async () => {
    const hanging = new WechatSimulator({ apps: [APP_A] });
    const url = await hanging.listen();
    hanging.injectFault({ kind: 'hang', paths: ['/cgi-bin/stable_token'] });
    const started = performance.now();
    const pending = fetch(`${url}/cgi-bin/stable_token`, {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'client_credential', appid: APP_A.appId, secret: APP_A.appSecret }),
      signal: AbortSignal.timeout(300),
    });
    await expect(pending).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const stillHanging = fetch(`${url}/cgi-bin/stable_token`, { method: 'POST', body: '{}' }).catch(
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hanging.stats().calls['/cgi-bin/stable_token']).toBe(2);
    const closing = performance.now();
    await hanging.close();
    expect(performance.now() - closing).toBeLessThan(1000);
    expect(await stillHanging).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
  });

  it('clearFaults (DELETE /sandbox/faults) drops every fault', async () => {
    sim.injectFault({ kind: 'busy' });
    sim.injectFault({ kind: 'http500', paths: ['/cgi-bin/token'] });
    expect(sim.stats().faultsActive).toBe(2);
    expect((await call('/sandbox/faults', { method: 'DELETE' })).json).toEqual({ ok: true });
    expect(sim.stats().faultsActive).toBe(0);
    expect(await tokenOf(legacy())).toBeDefined();
  });

  it.each<[string, unknown]>([
    ['an unknown kind', { kind: 'explode' }],
    ['latency without latencyMs', { kind: 'latency' }],
    ['errcode without errcode', { kind: 'errcode' }],
    ['a zero times', { kind: 'busy', times: 0 }],
  ])('rejects %s with 400', async (_case, fault) => {
    expect((await post('/sandbox/faults', fault)).status).toBe(400);
    expect(() => sim.injectFault(fault as SimulatorFault)).toThrow();
  });
});

describe('stats', () => {
  it('counts every request per path, per app and force calls, including rejected and faulted ones', async () => {
    await legacy();
    await call('/cgi-bin/token?grant_type=client_credential&appid=wxunknown&secret=x');
    await stable(APP_A, true);
    await post('/cgi-bin/stable_token', '{oops');
    await post('/cgi-bin/stable_token', {
      grant_type: 'client_credential',
      appid: 'wxunknown',
      force_refresh: true,
    });
    sim.injectFault({ kind: 'busy', paths: ['/cgi-bin/getcallbackip'], times: 1 });
    await business('whatever');
    await call('/cgi-bin/get_api_domain_ip');
    const stats = (await call('/sandbox/stats')).json;
    expect(stats).toMatchObject({
      calls: {
        '/cgi-bin/token': 2,
        '/cgi-bin/stable_token': 3,
        '/cgi-bin/getcallbackip': 1,
        '/cgi-bin/get_api_domain_ip': 1,
      },
      forceCalls: 2,
      byApp: {
        [APP_A.appId]: { token: 1, stableToken: 1, stableTokenForce: 1, business: 0, tokensIssued: 2 },
        [APP_B.appId]: { token: 0, stableToken: 0, stableTokenForce: 0, business: 0, tokensIssued: 0 },
      },
      faultsActive: 0,
    });
  });
});

describe('secrets', () => {
  it('never appear in any response or in stats', async () => {
    await legacy();
    await stable(APP_B, true);
    await call(`/cgi-bin/token?grant_type=client_credential&appid=${APP_A.appId}&secret=${APP_B.appSecret}`);
    await post('/cgi-bin/stable_token', { grant_type: 'x', appid: APP_A.appId, secret: APP_A.appSecret });
    await post('/sandbox/apps', { appId: APP_A.appId, appSecret: APP_A.appSecret });
    await post('/sandbox/apps', { appId: '', appSecret: APP_A.appSecret });
    await call('/sandbox/stats');
    await call('/sandbox/config');
    expect(seenBodies.length).toBeGreaterThanOrEqual(8);
    for (const body of seenBodies) {
      for (const secret of SECRETS) expect(body).not.toContain(secret);
    }
    expect(JSON.stringify(sim.stats())).not.toContain(APP_A.appSecret);
  });
});

describe('readSandboxSettings (standalone entry)', () => {
  it('defaults to port 4000 on 127.0.0.1 with the demo account and the demo Mini Program', () => {
    const settings = readSandboxSettings({});
    expect(settings).toMatchObject({ port: 4000, host: '127.0.0.1' });
    expect(settings.options.apps?.map((app) => app.kind ?? 'officialAccount')).toEqual([
      'officialAccount',
      'miniProgram',
    ]);
  });

  it('reads apps and timing', () => {
    const settings = readSandboxSettings({
      SANDBOX_PORT: '0',
      SANDBOX_APPS: JSON.stringify([APP_A]),
      SANDBOX_TOKEN_LIFETIME_SECONDS: '30',
      SANDBOX_OVERLAP_SECONDS: '5',
      SANDBOX_FORCE_DAILY_LIMIT: '3',
    });
    expect(settings.port).toBe(0);
    expect(
      readSandboxSettings({ SANDBOX_APPS: JSON.stringify([{ ...APP_A, kind: 'miniProgram' }]) }).options.apps,
    ).toEqual([{ ...APP_A, kind: 'miniProgram' }]);
    expect(settings.options).toMatchObject({
      apps: [APP_A],
      tokenLifetimeSeconds: 30,
      overlapSeconds: 5,
      forceDailyLimit: 3,
    });
  });

  it.each([
    ['SANDBOX_PORT', 'http'],
    ['SANDBOX_PORT', '70000'],
    ['SANDBOX_OVERLAP_SECONDS', 'five'],
    ['SANDBOX_APPS', `[{"appId":"a","appSecret":${APP_A.appSecret}}]`],
    ['SANDBOX_APPS', `[{"appId":"a","secret":"${APP_A.appSecret}"}]`],
    ['SANDBOX_APPS', `[{"appId":"a","appSecret":"${APP_A.appSecret}","kind":"miniprogram"}]`],
  ])('rejects a bad %s, naming it without echoing the value', (variable, value) => {
    let thrown: unknown;
    try {
      readSandboxSettings({ [variable]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SandboxEnvError);
    expect((thrown as SandboxEnvError).message).toContain(variable);
    expect((thrown as SandboxEnvError).message).not.toContain(APP_A.appSecret);
  });
});

describe('scale', () => {
  it('keeps minting linear with more apps than the prune threshold (10,000 apps × 2 rotations)', () => {
    const apps = Array.from({ length: 12_000 }, (_, i) => ({
      appId: `wxscale${String(i).padStart(11, '0')}`,
      appSecret: `scale-secret-${i}`,
    }));
    const big = new WechatSimulator({ apps, now: () => clock });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- counting calls of a private method
    const prune = jest.spyOn((big as any).tokens, 'prune');
    for (let round = 0; round < 2; round++) for (const app of apps) big.foreignRefresh(app.appId, 'stable');
    // 24,000 tokens minted: a prune per mint past 10,000 tokens would be 14,000 full scans
    expect(prune.mock.calls.length).toBeLessThanOrEqual(3);
    const last = apps[apps.length - 1] as (typeof apps)[number];
    expect(big.checkToken(last.appId, big.foreignRefresh(last.appId, 'stable').access_token)).toBe('valid');
  });
});
