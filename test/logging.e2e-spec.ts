import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiKeyId } from '../src/admin/admin-authenticator';
import { signPush, pushXml } from '../src/sandbox/push-builder';
import { sha1Signature } from '../src/wechat-callback/wechat-crypto';
import { getJson, postJson, type HttpResponse } from './support/http';
import {
  type ChildHandle,
  type LogEntry,
  logEntries,
  startHub,
  startSimulator,
  terminate,
} from './support/processes';
import { type RedisServerHandle, startRedis } from './support/redis-server';

/*
 * The logs of a real hub process (dist/main.js, NODE_ENV=production, LOG_LEVEL=trace, Redis, the simulator in its own
 * process) driven through every plane: token fetches and rotations, invalid reports, the SDK drop-in with appid and
 * secret in the URL, a forced refresh, callbacks in plain and safe mode, the gateway, the pass-through with
 * access_token in the URL, JS-SDK tickets, a wrong admin key and failing upstreams. Then the hub's complete output is
 * searched for every secret it was given and every credential the simulator issued.
 */

type Hub = ChildHandle & { url: string; port: number };
type Simulator = ChildHandle & { url: string };

type LogLine = LogEntry & { method?: string; url?: string; statusCode?: number; responseTime?: number };

const random = (bytes: number): string => randomBytes(bytes).toString('hex');
const aesKey = (): string =>
  randomBytes(48)
    .toString('base64')
    .replace(/[^a-zA-Z0-9]/g, '')
    .slice(0, 43);

const PLAIN = {
  appId: 'wxlogplain00000001',
  appSecret: `P${random(16)}`,
  token: `cbplain${random(6)}`,
  messageMode: 'plain',
  tokenEndpoint: 'stable',
};
const SAFE = {
  appId: 'wxlogsafe000000001',
  appSecret: `S${random(16)}`,
  token: `cbsafe${random(6)}`,
  encodingAESKey: aesKey(),
  messageMode: 'safe',
  tokenEndpoint: 'stable',
};
const LEGACY = {
  appId: 'wxloglegacy0000001',
  appSecret: `L${random(16)}`,
  token: `cblegacy${random(6)}`,
  encodingAESKey: aesKey(),
  messageMode: 'compatible',
  tokenEndpoint: 'legacy',
};
/** WeChat refuses its token calls (IP not whitelisted) from the start. */
const FAILING = { appId: 'wxlogfailing000001', appSecret: `F${random(16)}`, tokenEndpoint: 'legacy' };
const ACCOUNTS = [PLAIN, SAFE, LEGACY, FAILING];
/** Added by a runtime reload of WECHAT_ACCOUNTS_FILE. */
const RELOADED = {
  appId: 'wxlogreloaded00001',
  appSecret: `R${random(16)}`,
  token: `cbreload${random(6)}`,
  encodingAESKey: aesKey(),
  messageMode: 'safe',
};
const KEY = `logkey${random(16)}`;
const WRONG_KEY = `wrongkey${random(16)}`;

let redis: RedisServerHandle;
let accountsDir: string;
let simulator: Simulator;
let hub: Hub;
let output: string[];
let lines: LogLine[];
let issued: { tokens: string[]; tickets: string[] };
let metrics: string;
const requestIds: Record<string, string> = {};

function admin(
  path: string,
  init: { method?: string; body?: unknown; requestId?: string; key?: string } = {},
) {
  const headers: Record<string, string> = { authorization: `Bearer ${init.key ?? KEY}` };
  if (init.requestId) headers['x-request-id'] = init.requestId;
  return init.method === 'POST'
    ? postJson(`${hub.url}${path}`, init.body ?? {}, { headers })
    : getJson(`${hub.url}${path}`, { headers });
}

async function push(
  account: typeof PLAIN | typeof SAFE,
  encrypt: boolean,
  requestId: string,
): Promise<{ status: number; body: string }> {
  const xml = pushXml({ text: `hello ${requestId}`, fromUser: 'o_logging_user_0000000000' });
  const signed = signPush({ ...account, encrypt }, xml);
  const response = await fetch(`${hub.url}/wechat/${account.appId}?${new URLSearchParams(signed.query)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml', 'x-request-id': requestId },
    body: signed.body,
  });
  requestIds[requestId] = response.headers.get('x-request-id') ?? '';
  return { status: response.status, body: await response.text() };
}

function expectStatus(reply: HttpResponse<unknown>, status: number): void {
  expect({ status: reply.status, body: reply.body }).toEqual({ status, body: reply.body });
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function completed(requestId: string): LogLine | undefined {
  return lines.find((line) => line.reqId === requestId && line.msg === 'request completed');
}

beforeAll(async () => {
  accountsDir = mkdtempSync(join(tmpdir(), 'wxhub-logging-e2e-'));
  const accountsFile = join(accountsDir, 'accounts.json');
  writeFileSync(accountsFile, JSON.stringify(ACCOUNTS));
  redis = await startRedis();
  simulator = await startSimulator();
  for (const { appId, appSecret } of [...ACCOUNTS, RELOADED]) {
    expect((await postJson(`${simulator.url}/sandbox/apps`, { appId, appSecret })).status).toBe(200);
  }
  await postJson(`${simulator.url}/sandbox/faults`, {
    kind: 'errcode',
    errcode: 40164,
    errmsg: 'invalid ip 203.0.113.9, not in whitelist',
    appId: FAILING.appId,
  });
  hub = await startHub({
    NODE_ENV: 'production',
    LOG_LEVEL: 'trace',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `logs${random(4)}`,
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS_FILE: accountsFile,
    ADMIN_API_KEYS: KEY,
  });

  // token plane: reads with a caller's request id, a stale report, a report of a dead token (rotation), a forced refresh
  for (const account of [PLAIN, SAFE, LEGACY]) {
    const read = await admin(`/api/v1/accounts/${account.appId}/token`, {
      requestId: `read-${account.appId}`,
    });
    expectStatus(read, 200);
    requestIds[`read-${account.appId}`] = read.headers['x-request-id'] ?? '';
  }
  // the key is verified and the token in memory by now: this read is answered on the synchronous way
  const again = await admin(`/api/v1/accounts/${PLAIN.appId}/token`, { requestId: 'read-again' });
  expectStatus(again, 200);
  requestIds['read-again'] = again.headers['x-request-id'] ?? '';
  const stale = await admin(`/api/v1/accounts/${PLAIN.appId}/token/invalid`, {
    method: 'POST',
    body: { access_token: `not-a-token-${random(8)}` },
  });
  expectStatus(stale, 200);
  const current = (await admin(`/api/v1/accounts/${SAFE.appId}/token`)).body as { access_token: string };
  await postJson(`${simulator.url}/sandbox/apps/${SAFE.appId}/revoke`, {
    access_token: current.access_token,
    still_issued: true,
  });
  const rotated = await admin(`/api/v1/accounts/${SAFE.appId}/token/invalid`, {
    method: 'POST',
    body: { access_token: current.access_token },
    requestId: 'report-dead-token',
  });
  expectStatus(rotated, 200);
  expect((rotated.body as { outcome: string }).outcome).toBe('forced');
  expectStatus(
    await admin(`/api/v1/accounts/${PLAIN.appId}/token/refresh`, {
      method: 'POST',
      requestId: 'operator-force',
    }),
    200,
  );
  expectStatus(await admin(`/api/v1/accounts/${FAILING.appId}/token`), 503);
  expectStatus(
    await admin(`/api/v1/accounts/${PLAIN.appId}/token`, { key: WRONG_KEY, requestId: 'wrong-key' }),
    401,
  );
  const badId = await admin(`/api/v1/accounts`, { requestId: 'bad id with spaces' });
  requestIds['bad id'] = badId.headers['x-request-id'] ?? '';
  expectStatus(await admin(`/api/v1/accounts/${PLAIN.appId}/tickets/jsapi`), 200);
  expectStatus(await admin(`/api/v1/accounts/${LEGACY.appId}/tickets/wx_card`), 200);

  // the SDK drop-in: appid and secret in the URL (and in a body), a legacy rotation, a force_refresh report
  const dropIn = (account: { appId: string; appSecret: string }, secret = account.appSecret) =>
    getJson<{ access_token?: string }>(
      `${hub.url}/cgi-bin/token?${new URLSearchParams({ grant_type: 'client_credential', appid: account.appId, secret })}`,
      { headers: { 'x-request-id': `drop-in-${account.appId}-${secret.length}` } },
    );
  const sdkToken = (await dropIn(LEGACY)).body.access_token;
  expect(sdkToken).toEqual(expect.any(String));
  expect((await dropIn(PLAIN, `${PLAIN.appSecret.slice(0, -1)}x`)).body).toMatchObject({ errcode: 40125 });
  expectStatus(
    await postJson(`${hub.url}/cgi-bin/stable_token`, {
      grant_type: 'client_credential',
      appid: PLAIN.appId,
      secret: PLAIN.appSecret,
      force_refresh: true,
    }),
    200,
  );

  // the API plane: the gateway, the pass-through with access_token in the URL, an upstream failing with HTTP 500
  expectStatus(
    await getJson(`${hub.url}/gateway/${PLAIN.appId}/cgi-bin/getcallbackip`, {
      headers: { authorization: `Bearer ${KEY}`, 'x-request-id': 'gateway-call' },
    }),
    200,
  );
  const passThrough = await getJson<{ ip_list?: string[] }>(
    `${hub.url}/cgi-bin/getcallbackip?access_token=${sdkToken}`,
    { headers: { 'x-request-id': 'pass-through' } },
  );
  expect(passThrough.body.ip_list).toEqual(expect.any(Array));
  // credentials where no field redaction looks for them: only the scrubber of known values stops these (a 400, so
  // the request is logged: no url parameter)
  await admin(
    `/api/v1/accounts/${PLAIN.appId}/jsapi-signature?misplaced=${PLAIN.appSecret}&also=${sdkToken}`,
    {
      requestId: 'misplaced-secrets',
    },
  );
  // an account added at runtime: its secrets are scrubbed from then on
  writeFileSync(accountsFile, JSON.stringify([...ACCOUNTS, RELOADED]));
  expectStatus(await admin('/api/v1/accounts/reload', { method: 'POST' }), 200);
  await admin(
    `/api/v1/accounts/${RELOADED.appId}/jsapi-signature?a=${RELOADED.appSecret}&b=${RELOADED.encodingAESKey}&c=${RELOADED.token}`,
    { requestId: 'misplaced-reloaded' },
  );
  await postJson(`${simulator.url}/sandbox/faults`, {
    kind: 'http500',
    paths: ['/cgi-bin/get_api_domain_ip'],
    appId: PLAIN.appId,
  });
  const failing = await getJson(`${hub.url}/gateway/${PLAIN.appId}/cgi-bin/get_api_domain_ip`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  expect(failing.status).toBeGreaterThanOrEqual(500);

  // the callback plane: URL check (echostr), pushes in plain and safe mode
  const timestamp = String(Math.floor(Date.now() / 1000));
  const echostr = `echo${random(8)}`;
  const check = await fetch(
    `${hub.url}/wechat/${PLAIN.appId}?${new URLSearchParams({
      signature: sha1Signature(PLAIN.token, timestamp, '42'),
      timestamp,
      nonce: '42',
      echostr,
    })}`,
  );
  expect(await check.text()).toBe(echostr);
  expect((await push(PLAIN, false, 'push-plain')).status).toBe(200);
  expect((await push(SAFE, true, 'push-safe')).status).toBe(200);

  metrics = await (await fetch(`${hub.url}/metrics`)).text();
  const exit = await terminate(hub);
  expect(exit).toEqual({ code: 0, signal: null });
  output = hub.output;
  lines = logEntries(output) as LogLine[];
  issued = {
    tokens: (await getJson<{ tokens: string[] }>(`${simulator.url}/sandbox/tokens/issued`)).body.tokens,
    tickets: (await getJson<{ tickets: string[] }>(`${simulator.url}/sandbox/tickets/issued`)).body.tickets,
  };
}, 90_000);

afterAll(async () => {
  await redis?.stop();
  if (accountsDir) rmSync(accountsDir, { recursive: true, force: true });
});

describe('a hub driven through every plane at LOG_LEVEL=trace', () => {
  it('never prints an AppSecret, EncodingAESKey, callback token, API key, or any token or ticket WeChat issued', () => {
    const secrets = [
      ...[...ACCOUNTS, RELOADED].flatMap((a) => [
        a.appSecret,
        (a as { token?: string }).token,
        (a as { encodingAESKey?: string }).encodingAESKey,
      ]),
      KEY,
      WRONG_KEY,
      ...issued.tokens,
      ...issued.tickets,
    ].filter((s): s is string => s !== undefined);
    // the run did hand out what it is meant to: several tokens per account (reads, rotations, forced) and tickets
    expect(issued.tokens.length).toBeGreaterThanOrEqual(5);
    expect(issued.tickets.length).toBe(2);
    console.log(
      `${output.length} lines, ${output.join('\n').length} bytes searched for ${secrets.length} secrets ` +
        `(${issued.tokens.length} tokens, ${issued.tickets.length} tickets issued)`,
    );

    const leaks = secrets.flatMap((secret) =>
      output.filter((line) => line.includes(secret)).map((line) => `${secret.slice(0, 4)}…: ${line}`),
    );
    expect(leaks).toEqual([]);
  });

  it('writes every line as JSON with a level and a time, from debug to error', () => {
    expect(
      output.filter((line) => !lines.some((parsed) => JSON.stringify(parsed) === line) && !isJson(line)),
    ).toEqual([]);
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      expect(line).toEqual(expect.objectContaining({ level: expect.any(Number), time: expect.any(String) }));
    }
    const levels = new Set(lines.map((line) => line.level));
    for (const level of [20, 30, 40, 50]) expect(levels).toContain(level);
  });

  it('logs one line per completed request with the request id, account, method, redacted URL, status and duration', () => {
    expect(completed('wrong-key')).toEqual(
      expect.objectContaining({
        appId: PLAIN.appId,
        method: 'GET',
        url: `/api/v1/accounts/${PLAIN.appId}/token`,
        statusCode: 401,
        responseTime: expect.any(Number),
      }),
    );
    expect(
      lines.filter((line) => line.reqId === 'wrong-key' && line.msg === 'request completed'),
    ).toHaveLength(1);
    expect(completed('operator-force')).toEqual(
      expect.objectContaining({ appId: PLAIN.appId, method: 'POST', statusCode: 200 }),
    );
  });

  it('writes no line for a successful token read, and counts it in /metrics and the per-key summary', () => {
    // the first read of each account went through the controller (a key not verified yet), the second from memory
    for (const id of [`read-${PLAIN.appId}`, 'read-again']) {
      expect(lines.filter((line) => line.reqId === id)).toEqual([]);
    }
    expect(requestIds['read-again']).toBe('read-again');
    // a failing read is logged
    expect(
      lines.filter(
        (line) =>
          line.msg === 'request completed' &&
          line.url === `/api/v1/accounts/${FAILING.appId}/token` &&
          line.statusCode === 503,
      ),
    ).toHaveLength(1);
    const route = '/api/v1/accounts/:appId/token';
    expect(metrics).toContain(
      `wxhub_token_reads_total{app_id="${PLAIN.appId}",route="${route}",client="admin"} 2`,
    );
    expect(metrics).toContain(
      `wxhub_token_reads_total{app_id="${SAFE.appId}",route="${route}",client="admin"} 2`,
    );
    expect(metrics).toContain(
      `wxhub_token_reads_total{app_id="${PLAIN.appId}",route="/api/v1/accounts/:appId/tickets/:type",client="admin"} 1`,
    );
    expect(metrics).not.toContain(`wxhub_token_reads_total{app_id="${FAILING.appId}"`);
    // one summary a minute and one at shutdown: added up, whatever the run's length
    const summaries = lines.filter((line) => line.msg === 'token reads') as (LogLine & {
      reads: number;
      readers: { reader: string; appId: string; route: string; reads: number }[];
    })[];
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.every((line) => line.level === 30)).toBe(true);
    const byReader = new Map<string, number>();
    for (const entry of summaries.flatMap((line) => line.readers)) {
      const key = `${entry.reader} ${entry.appId} ${entry.route}`;
      byReader.set(key, (byReader.get(key) ?? 0) + entry.reads);
    }
    expect(summaries.reduce((sum, line) => sum + line.reads, 0)).toBe(7);
    expect(byReader.get(`${apiKeyId(KEY)} ${PLAIN.appId} ${route}`)).toBe(2);
    expect(byReader.get(`${apiKeyId(KEY)} ${SAFE.appId} ${route}`)).toBe(2);
  });

  it('sends the request id back, the caller’s when it is well-formed, a new one otherwise', () => {
    expect(requestIds[`read-${PLAIN.appId}`]).toBe(`read-${PLAIN.appId}`);
    expect(requestIds['read-again']).toBe('read-again');
    expect(requestIds['push-safe']).toBe('push-safe');
    expect(requestIds['bad id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(completed(requestIds['bad id']!)).toEqual(expect.objectContaining({ url: '/api/v1/accounts' }));
  });

  it('redacts credentials in logged URLs: secret, access_token, signatures and echostr', () => {
    const urls = lines.filter((line) => line.url !== undefined).map((line) => line.url!);

    expect(completed(`drop-in-${LEGACY.appId}-${LEGACY.appSecret.length}`)).toEqual(
      expect.objectContaining({
        appId: LEGACY.appId,
        url: `/cgi-bin/token?grant_type=client_credential&appid=${LEGACY.appId}&secret=[redacted]`,
      }),
    );
    expect(completed('pass-through')!.url).toBe('/cgi-bin/getcallbackip?access_token=[redacted]');
    expect(completed('push-safe')!.url).toMatch(
      /^\/wechat\/wxlogsafe000000001\?signature=\[redacted\]&timestamp=\d+&nonce=\d+&openid=o_logging_user_0000000000&encrypt_type=aes&msg_signature=\[redacted\]$/,
    );
    expect(urls.some((url) => url.includes('echostr=[redacted]'))).toBe(true);
    expect(
      urls.filter((url) => /(secret|access_token|signature|echostr)=(?!\[redacted\])[^&]/.test(url)),
    ).toEqual([]);
  });

  it('scrubs known secret and token values wherever they appear, e.g. in a query parameter of any name', () => {
    expect(completed('misplaced-secrets')!.url).toBe(
      `/api/v1/accounts/${PLAIN.appId}/jsapi-signature?misplaced=[redacted]&also=[redacted]`,
    );
  });

  it('scrubs the secrets of an account added by a runtime reload', () => {
    expect(completed('misplaced-reloaded')!.url).toBe(
      `/api/v1/accounts/${RELOADED.appId}/jsapi-signature?a=[redacted]&b=[redacted]&c=[redacted]`,
    );
  });

  it('binds the request id and account to lines written while handling a request, also after a body was read', () => {
    const during = lines.filter(
      (line) => line.reqId === 'report-dead-token' && line.msg !== 'request completed',
    );

    expect(during.map((line) => line.context)).toEqual(expect.arrayContaining(['TokenRefresher']));
    expect(during.every((line) => line.appId === SAFE.appId)).toBe(true);
    expect(
      lines.some(
        (line) =>
          line.reqId === 'operator-force' && line.context === 'TokenRefresher' && line.appId === PLAIN.appId,
      ),
    ).toBe(true);
  });

  it('names the account of callbacks and gateway calls, and of the drop-in when it is in the body', () => {
    expect(completed('push-plain')).toEqual(
      expect.objectContaining({ appId: PLAIN.appId, method: 'POST', statusCode: 200 }),
    );
    expect(completed('gateway-call')).toEqual(
      expect.objectContaining({ appId: PLAIN.appId, statusCode: 200 }),
    );
    const stableToken = lines.find(
      (line) => line.url === '/cgi-bin/stable_token' && line.msg === 'request completed',
    );
    expect(stableToken).toEqual(expect.objectContaining({ appId: PLAIN.appId }));
  });

  it('logs the failing upstream by account and errcode, and a clean shutdown with no error line', () => {
    expect(
      lines.some(
        (line) => line.level >= 40 && line.msg.includes(FAILING.appId) && line.msg.includes('40164'),
      ),
    ).toBe(true);
    const lastRequest = lines.indexOf(completed('push-safe')!);
    expect(lastRequest).toBeGreaterThan(0);
    const afterLastRequest = lines.slice(lastRequest + 1);
    expect(afterLastRequest.filter((line) => line.level >= 50 && line.appId !== FAILING.appId)).toEqual([]);
    expect(output.some((line) => line.includes('Connection is closed'))).toBe(false);
  });

  it('logs health probes and metrics scrapes at debug only', () => {
    const probes = lines.filter((line) => line.url === '/health' && line.msg === 'request completed');
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((line) => line.level === 20)).toBe(true);
  });
});
