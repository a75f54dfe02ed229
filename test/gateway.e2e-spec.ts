import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { RecordedRequest, SimulatorStats } from '../src/sandbox/wechat-simulator';
import { getJson, postJson } from './support/http';
import { type ChildHandle, startHub, startSimulator } from './support/processes';
import { startRedis } from './support/redis-server';

/*
 * The HTTP gateway (`/gateway/:appId/<wechat path>`, API key) and the `/cgi-bin/*` pass-through for SDKs (a token
 * the hub handed out) of real hub processes (dist/main.js) against one simulator process. Every account is used by
 * one group of tests only, so the simulator's per-app counters tell what the hub sent for it.
 */

type Hub = ChildHandle & { url: string; port: number };
type Simulator = ChildHandle & { url: string };

interface Account {
  appId: string;
  appSecret: string;
  tokenEndpoint: 'stable' | 'legacy';
}

interface Reply<T = WechatBody> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

interface WechatBody {
  errcode?: number;
  errmsg?: string;
  ip_list?: string[];
  access_token?: string;
  media_id?: string;
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** co-wechat-api 3.x (no types): the parts used here. */
interface CoWechatApi {
  prefix: string;
  getIp(): Promise<{ ip_list: string[] }>;
  sendText(openid: string, text: string): Promise<{ errcode: number; errmsg: string }>;
  getAccessToken(): Promise<{ accessToken: string }>;
  uploadMedia(data: Buffer, type: string, filename: string, mime: string): Promise<{ media_id: string }>;
  getMedia(mediaId: string): Promise<Buffer>;
}
type CoWechatApiClass = new (appId: string, appSecret: string) => CoWechatApi;

function account(label: string, tokenEndpoint: Account['tokenEndpoint'] = 'stable'): Account {
  return {
    appId: `wx${label.padEnd(16, '0')}`,
    appSecret: `S${randomBytes(16).toString('hex')}`,
    tokenEndpoint,
  };
}

const GET_POST = account('gwbasic');
const REPAIR = account('gwrepair');
const PERSISTENT = account('gwpersist');
const FAILURES = account('gwfailures');
const MEDIA = account('gwmedia');
const PASS = account('gwpass');
const PASS_LEGACY = account('gwpasslegacy', 'legacy');
const SDK = account('gwsdk');
const ALLOW_NET = account('gwallownet');
const BRUTE = account('gwbrute');
const FLEET = account('gwfleet');
const MAIN_ACCOUNTS = [GET_POST, REPAIR, PERSISTENT, FAILURES, MEDIA, PASS, PASS_LEGACY, SDK];
const ALL_ACCOUNTS = [...MAIN_ACCOUNTS, ALLOW_NET, BRUTE, FLEET];

const KEY = `gwkey${randomBytes(16).toString('hex')}`;
const UPSTREAM_TIMEOUT_MS = 1500;
const MEDIA_UPLOAD = '/cgi-bin/media/upload';
const MEDIA_GET = '/cgi-bin/media/get';
const CUSTOM_SEND = '/cgi-bin/message/custom/send';
const CALLBACK_IP = '/cgi-bin/getcallbackip';
const TOKEN_ERROR = 'invalid credential, access_token is invalid or not latest';

let simulator: Simulator;
let hub: Hub;
let allowNetHub: Hub;
let bruteHub: Hub;

async function call<T = WechatBody>(
  url: string,
  options: {
    method?: string;
    key?: string;
    headers?: Record<string, string>;
    json?: unknown;
    body?: Buffer;
  } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: the test sees the text
  }
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}

const gateway = (appId: string, wechatPath: string, target: Hub = hub): string =>
  `${target.url}/gateway/${appId}${wechatPath}`;

function expectErrorBody(reply: Reply<unknown>, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  expect((reply.body as ErrorBody).message).not.toBe('');
}

async function stats(): Promise<SimulatorStats> {
  return (await getJson<SimulatorStats>(`${simulator.url}/sandbox/stats`)).body;
}

/** Requests WeChat received: all paths, and token calls of one app. */
async function upstreamCalls(
  appId: string,
): Promise<{ path: Record<string, number>; token: number; business: number }> {
  const s = await stats();
  const app = s.byApp[appId];
  return {
    path: s.calls,
    token: (app?.token ?? 0) + (app?.stableToken ?? 0),
    business: app?.business ?? 0,
  };
}

function totalCalls(s: SimulatorStats): number {
  return Object.values(s.calls).reduce((sum, n) => sum + n, 0);
}

async function recorded(path: string): Promise<RecordedRequest[]> {
  return (
    await getJson<RecordedRequest[]>(`${simulator.url}/sandbox/requests?path=${encodeURIComponent(path)}`)
  ).body;
}

/** The token the hub hands out now, from the admin API. */
async function hubToken(appId: string): Promise<{ access_token: string; version: number }> {
  const reply = await call<{ access_token: string; version: number }>(
    `${hub.url}/api/v1/accounts/${appId}/token`,
    {
      key: KEY,
    },
  );
  expect(reply.status).toBe(200);
  return reply.body;
}

/** A token handed out by the hub's WeChat-compatible drop-in, as an SDK gets it. */
async function dropInToken(acct: Account): Promise<string> {
  const query = new URLSearchParams({
    grant_type: 'client_credential',
    appid: acct.appId,
    secret: acct.appSecret,
  });
  const reply = await call(`${hub.url}/cgi-bin/token?${query}`);
  expect(reply.body.access_token).toEqual(expect.any(String));
  return reply.body.access_token as string;
}

async function revoke(appId: string, accessToken: string): Promise<void> {
  const reply = await postJson(`${simulator.url}/sandbox/apps/${appId}/revoke`, {
    access_token: accessToken,
  });
  expect(reply.status).toBe(200);
}

async function stateAtWechat(appId: string, accessToken: string): Promise<string> {
  const query = new URLSearchParams({ appid: appId, access_token: accessToken });
  return (await getJson<{ state: string }>(`${simulator.url}/sandbox/tokens/check?${query}`)).body.state;
}

async function injectFault(fault: Record<string, unknown>): Promise<void> {
  const reply = await postJson(`${simulator.url}/sandbox/faults`, fault);
  expect(reply.status).toBe(200);
}

async function clearFaults(): Promise<void> {
  await call(`${simulator.url}/sandbox/faults`, { method: 'DELETE' });
}

/** VmRSS of a process, in bytes. */
function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples the RSS of `pid` every 10 ms while `work` runs; resolves with the work's result and the peak. */
async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 10);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, rssOf(pid)) };
  } finally {
    clearInterval(timer);
  }
}

function multipart(
  field: string,
  filename: string,
  contentType: string,
  bytes: Buffer,
): { body: Buffer; type: string } {
  const boundary = `----wxhub${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), type: `multipart/form-data; boundary=${boundary}` };
}

function hubEnv(accounts: Account[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    LOG_LEVEL: 'warn',
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS: JSON.stringify(accounts),
    ADMIN_API_KEYS: KEY,
    ...extra,
  };
}

beforeAll(async () => {
  simulator = await startSimulator({
    SANDBOX_APPS: JSON.stringify(ALL_ACCOUNTS.map(({ appId, appSecret }) => ({ appId, appSecret }))),
  });
  [hub, allowNetHub, bruteHub] = await Promise.all([
    startHub(hubEnv(MAIN_ACCOUNTS, { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) }), { name: 'hub' }),
    startHub(hubEnv([ALLOW_NET], { ADMIN_ALLOWED_IPS: '10.0.0.0/8' }), { name: 'hub-allow-net' }),
    startHub(hubEnv([BRUTE]), { name: 'hub-brute' }),
  ]);
  for (const { appId } of MAIN_ACCOUNTS) await hubToken(appId);
});

afterEach(clearFaults);

describe('gateway authentication, as for the admin API', () => {
  it('a call without a key is refused with 401 and a JSON error, and nothing reaches WeChat', async () => {
    const before = await stats();

    expectErrorBody(await call(gateway(GET_POST.appId, CALLBACK_IP)), 401);
    expectErrorBody(await call(gateway(GET_POST.appId, CALLBACK_IP), { key: `${KEY}x` }), 401);
    expectErrorBody(
      await call(gateway(GET_POST.appId, CALLBACK_IP), { headers: { authorization: KEY } }),
      401,
    );

    expect(totalCalls(await stats())).toBe(totalCalls(before));
  });

  it('an address outside ADMIN_ALLOWED_IPS is refused with 403, even with the right key', async () => {
    expectErrorBody(await call(gateway(ALLOW_NET.appId, CALLBACK_IP, allowNetHub), { key: KEY }), 403);
    expectErrorBody(await call(gateway(ALLOW_NET.appId, CALLBACK_IP, allowNetHub)), 403);
  });

  it('20 failed authentications block the address with 429, on the gateway and the admin API alike', async () => {
    const failures: number[] = [];
    for (let i = 0; i < 20; i++) {
      failures.push(
        (await call(gateway(BRUTE.appId, CALLBACK_IP, bruteHub), { key: `wrong-${i}-xxxxxxxxxxxx` })).status,
      );
    }
    expect(failures).toEqual(Array(20).fill(401));

    expectErrorBody(await call(gateway(BRUTE.appId, CALLBACK_IP, bruteHub), { key: KEY }), 429);
    expectErrorBody(await call(`${bruteHub.url}/api/v1/accounts/${BRUTE.appId}/token`, { key: KEY }), 429);
  });

  it('an unknown appId is 404 with the right key, and 401 without one (no account enumeration)', async () => {
    expectErrorBody(await call(gateway('wxunknown000000000', CALLBACK_IP), { key: KEY }), 404);
    expectErrorBody(await call(gateway('wxunknown000000000', CALLBACK_IP)), 401);
  });

  it.each([
    ['OAuth (/sns/)', '/sns/userinfo?openid=x'],
    ['an unlisted family', '/pay/orderquery'],
    ['the legacy token endpoint', '/cgi-bin/token?grant_type=client_credential'],
    ['the stable token endpoint', '/cgi-bin/stable_token'],
    ['an encoded dot-dot segment', '/cgi-bin/%2e%2e/sns/oauth2/access_token'],
    ['an encoded slash', '/cgi-bin%2F..%2Fsns/userinfo'],
    ['an empty segment', '/cgi-bin//getcallbackip'],
  ])('%s is refused with 400 and not forwarded', async (_, wechatPath) => {
    const before = await stats();

    expectErrorBody(await call(gateway(GET_POST.appId, wechatPath), { key: KEY }), 400);

    expect(totalCalls(await stats())).toBe(totalCalls(before));
  });
});

describe('forwarding through the gateway', () => {
  it('methods other than GET and POST are answered 405 with Allow, and not forwarded', async () => {
    const before = await stats();

    const reply = await call(gateway(GET_POST.appId, CALLBACK_IP), { key: KEY, method: 'DELETE' });

    expectErrorBody(reply, 405);
    expect(reply.headers.get('allow')).toBe('GET, POST');
    expect(totalCalls(await stats())).toBe(totalCalls(before));
  });

  it('a GET reaches WeChat with the hub token (a client access_token is replaced) and returns its body', async () => {
    const before = await upstreamCalls(GET_POST.appId);

    const reply = await call(gateway(GET_POST.appId, `${CALLBACK_IP}?access_token=client-supplied-junk`), {
      key: KEY,
    });

    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    expect(reply.body.ip_list).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/\d+$/)]),
    );
    const after = await upstreamCalls(GET_POST.appId);
    // the simulator counts a business call for an app only when it carries a token of that app
    expect(after.business - before.business).toBe(1);
    expect(after.path[CALLBACK_IP]! - before.path[CALLBACK_IP]!).toBe(1);
    expect(after.token).toBe(before.token);
  });

  it('the query string reaches WeChat as sent, with only the access_token replaced', async () => {
    const reply = await call(
      gateway(GET_POST.appId, '/cgi-bin/user/get?next_openid=&marker=a%20b&access_token=junk&lang=zh_CN'),
      { key: KEY },
    );

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ total: expect.any(Number) });
    const seen = (await recorded('/cgi-bin/user/get')).filter((r) => r.appId === GET_POST.appId).at(-1);
    expect(seen?.query).toEqual({ next_openid: '', marker: 'a b', lang: 'zh_CN', access_token: '<checked>' });
  });

  it('a POST JSON body reaches WeChat byte for byte (UTF-8 kept) and WeChat’s answer comes back', async () => {
    const message = {
      touser: `o${randomBytes(6).toString('hex')}`,
      msgtype: 'text',
      text: { content: '你好, gateway' },
    };

    const reply = await call(gateway(GET_POST.appId, CUSTOM_SEND), { key: KEY, json: message });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ errcode: 0, errmsg: 'ok' });
    const messages = (
      await getJson<{ appId: string; body: unknown }[]>(`${simulator.url}/sandbox/custom-messages`)
    ).body;
    expect(messages.filter((m) => m.appId === GET_POST.appId).map((m) => m.body)).toContainEqual(message);
  });

  it('WeChat errors pass through as WeChat sent them (HTTP 200 with errcode)', async () => {
    const reply = await call(gateway(GET_POST.appId, CUSTOM_SEND), { key: KEY, json: { touser: 'x' } });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ errcode: 47001, errmsg: expect.stringMatching(/^data format error rid: /) });
  });

  it('a token WeChat killed is repaired through the token plane: the call succeeds with one token call', async () => {
    const { access_token: dead } = await hubToken(REPAIR.appId);
    await revoke(REPAIR.appId, dead);
    const before = await upstreamCalls(REPAIR.appId);

    const reply = await call(gateway(REPAIR.appId, CALLBACK_IP), { key: KEY });

    expect(reply.status).toBe(200);
    expect(reply.body.ip_list).toEqual(expect.any(Array));
    const after = await upstreamCalls(REPAIR.appId);
    expect(after.token - before.token).toBe(1);
    expect(after.path[CALLBACK_IP]! - before.path[CALLBACK_IP]!).toBe(2);
    const fresh = await hubToken(REPAIR.appId);
    expect(fresh.access_token).not.toBe(dead);
    await expect(stateAtWechat(REPAIR.appId, fresh.access_token)).resolves.toBe('valid');
  });

  it('a persistent 40001 is returned as WeChat sent it after exactly 2 attempts', async () => {
    await injectFault({
      kind: 'errcode',
      errcode: 40001,
      errmsg: TOKEN_ERROR,
      paths: [CUSTOM_SEND],
      appId: PERSISTENT.appId,
    });
    const before = await upstreamCalls(PERSISTENT.appId);

    const reply = await call(gateway(PERSISTENT.appId, CUSTOM_SEND), {
      key: KEY,
      json: { touser: 'o1', msgtype: 'text', text: { content: 'hi' } },
    });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      errcode: 40001,
      errmsg: expect.stringMatching(new RegExp(`^${TOKEN_ERROR} rid: `)),
    });
    const after = await upstreamCalls(PERSISTENT.appId);
    expect(after.path[CUSTOM_SEND]! - before.path[CUSTOM_SEND]!).toBe(2);
  });

  it('WeChat not answering in time is a 504 with a JSON error', async () => {
    await injectFault({ kind: 'hang', paths: [CALLBACK_IP], appId: FAILURES.appId, times: 1 });
    const started = Date.now();

    const reply = await call(gateway(FAILURES.appId, CALLBACK_IP), { key: KEY });

    expectErrorBody(reply, 504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 100);
    expect(Date.now() - started).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3000);
  });

  it('an HTTP 5xx from WeChat is a 502 with a JSON error', async () => {
    await injectFault({ kind: 'http500', paths: [CALLBACK_IP], appId: FAILURES.appId, times: 1 });

    expectErrorBody(await call(gateway(FAILURES.appId, CALLBACK_IP), { key: KEY }), 502);
    // and the next call is fine
    expect((await call(gateway(FAILURES.appId, CALLBACK_IP), { key: KEY })).body.ip_list).toEqual(
      expect.any(Array),
    );
  });

  it('WeChat unreachable is a 502 with a JSON error (the hub still holds a live token)', async () => {
    const lonelySimulator = await startSimulator(
      { SANDBOX_APPS: JSON.stringify([{ appId: FAILURES.appId, appSecret: FAILURES.appSecret }]) },
      { name: 'simulator-to-stop' },
    );
    const lonely = await startHub(
      { ...hubEnv([FAILURES]), WECHAT_API_BASE_URL: lonelySimulator.url },
      { name: 'hub-alone' },
    );
    expect((await call(gateway(FAILURES.appId, CALLBACK_IP, lonely), { key: KEY })).status).toBe(200);
    await lonelySimulator.kill();

    const reply = await call(gateway(FAILURES.appId, CALLBACK_IP, lonely), { key: KEY });

    expectErrorBody(reply, 502);
    await lonely.kill();
  });
});

describe('media streams through the gateway', () => {
  const FIVE_MB = 5 * 1024 * 1024;
  const image = randomBytes(FIVE_MB);

  async function upload(bytes: Buffer, appId = MEDIA.appId): Promise<Reply<WechatBody>> {
    const form = multipart('media', 'photo.jpg', 'image/jpeg', bytes);
    return call(gateway(appId, `${MEDIA_UPLOAD}?type=image`), {
      key: KEY,
      body: form.body,
      headers: { 'content-type': form.type },
    });
  }

  async function download(mediaId: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const response = await fetch(
      gateway(MEDIA.appId, `${MEDIA_GET}?media_id=${encodeURIComponent(mediaId)}`),
      {
        headers: { authorization: `Bearer ${KEY}` },
      },
    );
    return {
      status: response.status,
      headers: response.headers,
      bytes: Buffer.from(await response.arrayBuffer()),
    };
  }

  it('a 5 MB upload reaches WeChat whole and downloads back byte-identical, with its media headers', async () => {
    const uploaded = await upload(image);

    expect(uploaded.status).toBe(200);
    expect(uploaded.body.media_id).toEqual(expect.any(String));
    const seen = (await recorded(MEDIA_UPLOAD)).filter((r) => r.appId === MEDIA.appId).at(-1);
    expect(seen?.query).toMatchObject({ type: 'image' });
    expect((seen?.body as { bytes: number }).bytes).toBeGreaterThan(FIVE_MB);

    const downloaded = await download(uploaded.body.media_id as string);
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers.get('content-type')).not.toMatch(/json/);
    expect(Number(downloaded.headers.get('content-length'))).toBe(FIVE_MB);
    expect(downloaded.bytes.equals(image)).toBe(true);
  });

  it('the hub memory stays flat: 5 concurrent 5 MB round trips (25 MB in flight each way) grow its RSS by less than 20 MB', async () => {
    // Sequential round trips first, so that the allocator, buffers and JIT reach their working size for ONE transfer.
    // Calibration on the same protocol: this gateway grew 2-13 MB (garbage chunks awaiting GC); a proxy that buffers
    // bodies (node:http + undici, Buffer.concat both ways) grew 40-53 MB, since it holds five bodies at once.
    for (let i = 0; i < 5; i++) {
      const warm = await upload(image);
      expect((await download(warm.body.media_id as string)).bytes.equals(image)).toBe(true);
    }
    await delay(200);
    const baseline = rssOf(hub.pid);

    const { peak } = await withPeakRss(hub.pid, () =>
      Promise.all(
        Array.from({ length: 5 }, async () => {
          const bytes = randomBytes(FIVE_MB);
          const uploaded = await upload(bytes);
          expect(uploaded.status).toBe(200);
          const downloaded = await download(uploaded.body.media_id as string);
          expect(downloaded.bytes.equals(bytes)).toBe(true);
        }),
      ),
    );
    const after = rssOf(hub.pid);

    expect(peak - baseline).toBeLessThan(20 * 1024 * 1024);
    expect(after - baseline).toBeLessThan(20 * 1024 * 1024);
  });

  it('a small upload (replayable) with a killed token is repaired and sent again: one call succeeds', async () => {
    const { access_token: dead } = await hubToken(MEDIA.appId);
    await revoke(MEDIA.appId, dead);
    const before = await upstreamCalls(MEDIA.appId);

    const reply = await upload(randomBytes(64 * 1024));

    expect(reply.status).toBe(200);
    expect(reply.body.media_id).toEqual(expect.any(String));
    expect(reply.headers.get('x-wxhub-token-repaired')).toBeNull();
    const after = await upstreamCalls(MEDIA.appId);
    expect(after.path[MEDIA_UPLOAD]! - before.path[MEDIA_UPLOAD]!).toBe(2);
    expect(after.token - before.token).toBe(1);
  });

  it('a large upload (streamed) with a killed token returns WeChat’s 40001 after repairing the token; resending works', async () => {
    const { access_token: dead } = await hubToken(MEDIA.appId);
    await revoke(MEDIA.appId, dead);
    const before = await upstreamCalls(MEDIA.appId);

    const refused = await upload(image);

    expect(refused.status).toBe(200);
    expect(refused.body.errcode).toBe(40001);
    expect(refused.headers.get('x-wxhub-token-repaired')).toBe('true');
    const after = await upstreamCalls(MEDIA.appId);
    expect(after.path[MEDIA_UPLOAD]! - before.path[MEDIA_UPLOAD]!).toBe(1);
    expect(after.token - before.token).toBe(1);
    expect((await hubToken(MEDIA.appId)).access_token).not.toBe(dead);

    const again = await upload(image);
    expect(again.status).toBe(200);
    expect(again.body.media_id).toEqual(expect.any(String));
  });

  it('a streamed upload WeChat never answers is a 504 once nothing moved for the upstream timeout', async () => {
    await injectFault({ kind: 'hang', paths: [MEDIA_UPLOAD], appId: MEDIA.appId, times: 1 });
    const started = Date.now();

    const reply = await upload(randomBytes(3 * 1024 * 1024));

    expectErrorBody(reply, 504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 100);
    expect(Date.now() - started).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3000);
  });

  it('a body over 20 MB is refused with 413 and never reaches WeChat', async () => {
    const before = await upstreamCalls(MEDIA.appId);

    const reply = await upload(Buffer.alloc(21 * 1024 * 1024));

    expectErrorBody(reply, 413);
    const after = await upstreamCalls(MEDIA.appId);
    expect(after.path[MEDIA_UPLOAD]).toBe(before.path[MEDIA_UPLOAD]);
  });
});

describe('/cgi-bin pass-through for SDKs pointed at the hub', () => {
  it('an SDK-style call with a token from the hub’s /cgi-bin/token works, no API key needed', async () => {
    const token = await dropInToken(PASS);
    const before = await upstreamCalls(PASS.appId);

    const reply = await call(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(token)}`);

    expect(reply.status).toBe(200);
    expect(reply.body.ip_list).toEqual(expect.any(Array));
    const after = await upstreamCalls(PASS.appId);
    expect(after.business - before.business).toBe(1);
    expect(after.token).toBe(before.token);
  });

  it('a POST through the pass-through reaches WeChat with its JSON body', async () => {
    const token = await dropInToken(PASS);
    const message = {
      touser: `o${randomBytes(6).toString('hex')}`,
      msgtype: 'text',
      text: { content: 'via SDK' },
    };

    const reply = await call(`${hub.url}${CUSTOM_SEND}?access_token=${encodeURIComponent(token)}`, {
      json: message,
    });

    expect(reply.body).toEqual({ errcode: 0, errmsg: 'ok' });
    const messages = (
      await getJson<{ appId: string; body: unknown }[]>(`${simulator.url}/sandbox/custom-messages`)
    ).body;
    expect(messages.filter((m) => m.appId === PASS.appId).map((m) => m.body)).toContainEqual(message);
  });

  it('other API families (/datacube/…) pass through too, so an SDK whose whole base URL is the hub keeps working', async () => {
    const token = await dropInToken(PASS);
    const before = await upstreamCalls(PASS.appId);

    const reply = await call<{ list: { ref_date: string }[] }>(
      `${hub.url}/datacube/getusersummary?access_token=${encodeURIComponent(token)}`,
      { json: { begin_date: '2026-11-01', end_date: '2026-11-03' } },
    );

    expect(reply.status).toBe(200);
    expect(reply.body.list.map((day) => day.ref_date)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
    const after = await upstreamCalls(PASS.appId);
    expect(after.business - before.business).toBe(1);
    // and a token the hub never handed out opens nothing there either
    const foreign = await call(`${hub.url}/datacube/getusersummary?access_token=not-from-the-hub`, {
      json: { begin_date: '2026-11-01', end_date: '2026-11-01' },
    });
    expect(foreign.body).toMatchObject({ errcode: 40001 });
    expect((await upstreamCalls(PASS.appId)).business).toBe(after.business);
  });

  it('a stale hub token (an earlier version, killed at WeChat) is swapped for the current one', async () => {
    const stale = await dropInToken(PASS);
    // someone else kills it; a caller's report makes the hub fetch the next one
    await postJson(`${simulator.url}/sandbox/apps/${PASS.appId}/foreign-refresh`, { endpoint: 'stable' });
    const repaired = await call<{ access_token: string }>(
      `${hub.url}/api/v1/accounts/${PASS.appId}/token/invalid`,
      {
        key: KEY,
        json: { access_token: stale },
      },
    );
    expect(repaired.status).toBe(200);
    expect(repaired.body.access_token).not.toBe(stale);
    await expect(stateAtWechat(PASS.appId, stale)).resolves.toBe('invalid');
    const before = await upstreamCalls(PASS.appId);

    const reply = await call(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(stale)}`);

    expect(reply.status).toBe(200);
    expect(reply.body.ip_list).toEqual(expect.any(Array));
    const after = await upstreamCalls(PASS.appId);
    expect(after.business - before.business).toBe(1);
    expect(after.token).toBe(before.token);
  });

  it("after an operator's forced refresh (a leak), the old token no longer opens the pass-through", async () => {
    const leaked = await dropInToken(PASS);
    const forced = await call<{ access_token: string }>(
      `${hub.url}/api/v1/accounts/${PASS.appId}/token/refresh`,
      {
        key: KEY,
        method: 'POST',
      },
    );
    expect(forced.status).toBe(200);
    const before = await upstreamCalls(PASS.appId);

    const refused = await call(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(leaked)}`);

    expect(refused.body).toEqual({
      errcode: 40001,
      errmsg: 'invalid credential, access_token is invalid or not latest',
    });
    expect((await upstreamCalls(PASS.appId)).business).toBe(before.business);
    const current = await call(
      `${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(forced.body.access_token)}`,
    );
    expect(current.body.ip_list).toEqual(expect.any(Array));
  });

  it('a superseded legacy token is swapped too', async () => {
    const old = await dropInToken(PASS_LEGACY);
    const { access_token: current } = await hubToken(PASS_LEGACY.appId);
    expect(current).toBe(old);
    await revoke(PASS_LEGACY.appId, old);
    // a report makes the hub fetch a new legacy token; the old one is now history
    const report = await call<{ access_token: string }>(
      `${hub.url}/api/v1/accounts/${PASS_LEGACY.appId}/token/invalid`,
      {
        key: KEY,
        json: { access_token: old },
      },
    );
    expect(report.body.access_token).not.toBe(old);

    const reply = await call(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(old)}`);

    expect(reply.body.ip_list).toEqual(expect.any(Array));
  });

  it.each([
    ['an unknown token', 'not-a-token-the-hub-handed-out'],
    ['a token of WeChat the hub never handed out', 'FOREIGN'],
  ])('%s is answered 40001 without any call to WeChat', async (_, kind) => {
    const token =
      kind === 'FOREIGN'
        ? (
            await postJson<{ access_token: string }>(
              `${simulator.url}/sandbox/apps/${PASS.appId}/foreign-refresh`,
              {
                endpoint: 'legacy',
              },
            )
          ).body.access_token
        : kind;
    const before = await stats();

    const replies = [
      await call(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(token)}`),
      await call(`${hub.url}${CUSTOM_SEND}?access_token=${encodeURIComponent(token)}`, {
        json: { touser: 'o' },
      }),
    ];

    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ errcode: 40001, errmsg: TOKEN_ERROR });
    }
    expect(totalCalls(await stats())).toBe(totalCalls(before));
  });

  it('a call without access_token is 41001, and POST /cgi-bin/token is 43001, both WeChat-shaped', async () => {
    const before = await stats();

    expect((await call(`${hub.url}${CALLBACK_IP}`)).body).toEqual({
      errcode: 41001,
      errmsg: 'access_token missing',
    });
    expect((await call(`${hub.url}/cgi-bin/token`, { json: {} })).body).toEqual({
      errcode: 43001,
      errmsg: 'require GET method',
    });

    expect(totalCalls(await stats())).toBe(totalCalls(before));
  });

  it('the drop-in token endpoints still win over the pass-through', async () => {
    const query = new URLSearchParams({
      grant_type: 'client_credential',
      appid: PASS.appId,
      secret: PASS.appSecret,
    });
    const legacy = await call(`${hub.url}/cgi-bin/token?${query}`);
    const stable = await call(`${hub.url}/cgi-bin/stable_token`, {
      json: { grant_type: 'client_credential', appid: PASS.appId, secret: PASS.appSecret },
    });
    const stableByGet = await call(`${hub.url}/cgi-bin/stable_token`);

    const current = (await hubToken(PASS.appId)).access_token;
    expect(legacy.body.access_token).toBe(current);
    expect(stable.body.access_token).toBe(current);
    expect(stableByGet.body).toEqual({ errcode: 43002, errmsg: 'require POST method' });
  });

  it('WeChat failing is WeChat-shaped for SDKs: HTTP 200 with -1 system error', async () => {
    const token = await dropInToken(PASS);
    await injectFault({ kind: 'http500', paths: [CALLBACK_IP], appId: PASS.appId, times: 1 });

    const reply = await call(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(token)}`);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ errcode: -1, errmsg: 'system error' });
  });
});

describe('pass-through across instances sharing Redis', () => {
  let first: Hub;
  let second: Hub;

  beforeAll(async () => {
    const redis = await startRedis();
    const env = hubEnv([FLEET], { REDIS_URL: redis.url });
    first = await startHub(env, { name: 'hub-fleet-1' });
    second = await startHub(env, { name: 'hub-fleet-2' });
  });

  async function tokenFrom(target: Hub): Promise<string> {
    const query = new URLSearchParams({
      grant_type: 'client_credential',
      appid: FLEET.appId,
      secret: FLEET.appSecret,
    });
    const reply = await call(`${target.url}/cgi-bin/token?${query}`);
    expect(reply.body.access_token).toEqual(expect.any(String));
    return reply.body.access_token as string;
  }

  it('a token handed out by one instance opens the pass-through of another', async () => {
    const token = await tokenFrom(first);

    const reply = await call(`${second.url}${CALLBACK_IP}?access_token=${encodeURIComponent(token)}`);

    expect(reply.body.ip_list).toEqual(expect.any(Array));
  });

  it("after one instance's operator forces a refresh, the other refuses the old token too", async () => {
    const leaked = await tokenFrom(first);
    expect(
      (await call(`${second.url}${CALLBACK_IP}?access_token=${encodeURIComponent(leaked)}`)).body.ip_list,
    ).toBeDefined();
    const forced = await call<{ access_token: string }>(
      `${first.url}/api/v1/accounts/${FLEET.appId}/token/refresh`,
      {
        key: KEY,
        method: 'POST',
      },
    );
    expect(forced.body.access_token).not.toBe(leaked);
    // the second instance hears of the change through Redis
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const seen = await call<{ access_token: string }>(
        `${second.url}/api/v1/accounts/${FLEET.appId}/token`,
        { key: KEY },
      );
      if (seen.body.access_token === forced.body.access_token) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = await upstreamCalls(FLEET.appId);

    const refused = await call(`${second.url}${CALLBACK_IP}?access_token=${encodeURIComponent(leaked)}`);

    expect(refused.body).toMatchObject({ errcode: 40001 });
    expect((await upstreamCalls(FLEET.appId)).path[CALLBACK_IP]).toBe(before.path[CALLBACK_IP]);
    const current = await call(
      `${second.url}${CALLBACK_IP}?access_token=${encodeURIComponent(forced.body.access_token)}`,
    );
    expect(current.body.ip_list).toEqual(expect.any(Array));
  });
});

describe('co-wechat-api 3.x pointed at the hub', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const API = require('co-wechat-api') as CoWechatApiClass;

  function client(): CoWechatApi {
    const api = new API(SDK.appId, SDK.appSecret);
    // every call of the SDK, token fetch included, goes to `${prefix}<path>`
    api.prefix = `http://127.0.0.1:${hub.port}/cgi-bin/`;
    return api;
  }

  it('fetches its token from the hub drop-in and its business calls go through the pass-through', async () => {
    const before = await upstreamCalls(SDK.appId);
    const api = client();

    const ips = await api.getIp();
    const sent = await api.sendText('o-sdk-user', 'hello from co-wechat-api');

    expect(ips.ip_list).toEqual(expect.any(Array));
    expect(sent).toMatchObject({ errcode: 0, errmsg: 'ok' });
    const after = await upstreamCalls(SDK.appId);
    // the SDK's token call was served by the hub: WeChat saw no token call for it
    expect(after.token).toBe(before.token);
    expect(after.business - before.business).toBe(2);
    const messages = (
      await getJson<{ appId: string; body: { touser: string } }[]>(`${simulator.url}/sandbox/custom-messages`)
    ).body;
    expect(messages.some((m) => m.appId === SDK.appId && m.body.touser === 'o-sdk-user')).toBe(true);
  });

  it('uploads media (a chunked multipart stream) and downloads it back byte-identical through the pass-through', async () => {
    const api = client();
    const bytes = randomBytes(2 * 1024 * 1024);

    const uploaded = await api.uploadMedia(bytes, 'image', 'sdk.jpg', 'image/jpeg');
    const downloaded = await api.getMedia(uploaded.media_id);

    expect(uploaded.media_id).toEqual(expect.any(String));
    expect(Buffer.isBuffer(downloaded) && downloaded.equals(bytes)).toBe(true);
  });

  it('keeps working when WeChat kills the token under it: the hub repairs it, one token call', async () => {
    const api = client();
    await api.getIp();
    const { access_token: dead } = await hubToken(SDK.appId);
    await revoke(SDK.appId, dead);
    const before = await upstreamCalls(SDK.appId);

    const ips = await api.getIp();

    expect(ips.ip_list).toEqual(expect.any(Array));
    expect((await upstreamCalls(SDK.appId)).token - before.token).toBe(1);
  });
});
