import { randomBytes } from 'node:crypto';
import type { SimulatorStats } from '../src/sandbox/wechat-simulator';
import { getJson } from './support/http';
import { type ChildHandle, startHub, startSimulator } from './support/processes';
import { sendRaw } from './support/raw-http';

/*
 * The edge every route shares, on a real hub process against the simulator: callers refused before their body is
 * read, HEAD never turned into an upstream GET, token paths closed however they are spelt.
 */

type Hub = ChildHandle & { url: string; port: number };

const ACCOUNT = { appId: 'wxedgehardening000', appSecret: `S${randomBytes(16).toString('hex')}` };
const KEY = `edgekey${randomBytes(16).toString('hex')}`;
const CALLBACK_IP = '/cgi-bin/getcallbackip';
const THREE_HUNDRED_MB = 300 * 1024 * 1024;

let simulator: ChildHandle & { url: string };
let hub: Hub;

async function upstreamCalls(): Promise<number> {
  const stats = (await getJson<SimulatorStats>(`${simulator.url}/sandbox/stats`)).body;
  return Object.values(stats.calls).reduce((sum, n) => sum + n, 0);
}

async function servedToken(): Promise<string> {
  const query = new URLSearchParams({
    grant_type: 'client_credential',
    appid: ACCOUNT.appId,
    secret: ACCOUNT.appSecret,
  });
  const reply = await getJson<{ access_token: string }>(`${hub.url}/cgi-bin/token?${query}`);
  expect(reply.body.access_token).toEqual(expect.any(String));
  return reply.body.access_token;
}

beforeAll(async () => {
  simulator = await startSimulator({ SANDBOX_APPS: JSON.stringify([ACCOUNT]) });
  hub = await startHub({
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    LOG_LEVEL: 'warn',
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS: JSON.stringify([ACCOUNT]),
    ADMIN_API_KEYS: KEY,
  });
});

describe('an unauthenticated upload is refused before its body is read', () => {
  it.each([
    [
      'the gateway without a key',
      () => `POST /gateway/${ACCOUNT.appId}/cgi-bin/media/upload?type=image HTTP/1.1`,
      '',
    ],
    [
      'the gateway with a wrong key',
      () => `POST /gateway/${ACCOUNT.appId}/cgi-bin/media/upload?type=image HTTP/1.1`,
      `\r\nAuthorization: Bearer ${KEY}wrong`,
    ],
    ['the pass-through with a token the hub never handed out', () => '/cgi-bin/media/upload', ''],
  ])('%s: a 300 MB body is answered at once and the connection closed', async (_, line, auth) => {
    const requestLine = line().startsWith('/')
      ? `POST ${line()}?access_token=not-one-of-ours&type=image HTTP/1.1`
      : line();
    const before = await upstreamCalls();

    const exchange = await sendRaw(
      hub.port,
      `${requestLine}\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${THREE_HUNDRED_MB}${auth}`,
      THREE_HUNDRED_MB,
      20_000,
    );

    expect([401, 200]).toContain(exchange.status);
    if (exchange.status === 200) expect(exchange.head).not.toMatch(/content-length: 0/i);
    expect(exchange.head).toMatch(/^connection: close$/im);
    expect(exchange.closedByServer).toBe(true);
    // the kernel's socket buffers take a few MB; reading the body to its end would take all 300
    expect(exchange.bodyBytesSent).toBeLessThan(32 * 1024 * 1024);
    expect(exchange.elapsedMs).toBeLessThan(10_000);
    expect(await upstreamCalls()).toBe(before);
  });
});

describe('HEAD is refused, never answered by an upstream GET', () => {
  it('the gateway answers HEAD 405 with Allow, and GET still reaches WeChat', async () => {
    const before = await upstreamCalls();

    const head = await fetch(`${hub.url}/gateway/${ACCOUNT.appId}${CALLBACK_IP}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${KEY}` },
    });

    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET, POST');
    expect(await upstreamCalls()).toBe(before);
    const get = await fetch(`${hub.url}/gateway/${ACCOUNT.appId}${CALLBACK_IP}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(get.status).toBe(200);
    expect(await upstreamCalls()).toBe(before + 1);
  });

  it('the pass-through answers HEAD 405 with Allow, and GET still reaches WeChat', async () => {
    const token = await servedToken();
    const before = await upstreamCalls();

    const head = await fetch(`${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(token)}`, {
      method: 'HEAD',
    });

    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET, POST');
    expect(await upstreamCalls()).toBe(before);
    const get = await getJson<{ ip_list?: string[] }>(
      `${hub.url}${CALLBACK_IP}?access_token=${encodeURIComponent(token)}`,
    );
    expect(get.body.ip_list).toEqual(expect.any(Array));
    expect(await upstreamCalls()).toBe(before + 1);
  });
});

describe('token paths stay closed however they are spelt', () => {
  const spellings = [
    '/cgi-bin/Token',
    '/cgi-bin/TOKEN',
    '/cgi-bin/token.',
    '/cgi-bin/token..',
    '/cgi-bin/Stable_Token',
    '/cgi-bin/stable_token.',
    '/cgi-bin/component/api_component_token',
    '/cgi-bin/component/API_AUTHORIZER_TOKEN.',
    '/cgi-bin/component/api_query_auth',
  ];

  it.each(spellings)('the gateway refuses %s with 400 and calls nothing upstream', async (path) => {
    const before = await upstreamCalls();

    const reply = await getJson<{ message: string }>(
      `${hub.url}/gateway/${ACCOUNT.appId}${path}?grant_type=client_credential`,
      { headers: { authorization: `Bearer ${KEY}` } },
    );

    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/not forwarded/);
    expect(await upstreamCalls()).toBe(before);
  });

  it.each(spellings)('the pass-through does not forward %s, even with a served token', async (path) => {
    const token = await servedToken();
    const before = await upstreamCalls();

    const reply = await getJson<{ errcode: number; errmsg: string }>(
      `${hub.url}${path}?grant_type=client_credential&access_token=${encodeURIComponent(token)}`,
    );

    // answered by the hub itself: a forwarded call would bring WeChat's (here the simulator's) answer back
    expect(reply.body).toEqual({ errcode: -1, errmsg: 'this path is not served by wxhub' });
    expect(reply.body).not.toHaveProperty('access_token');
    expect(await upstreamCalls()).toBe(before);
  });
});

describe('health: the status for anyone, the detail behind the admin key', () => {
  it.each(['/health', '/health/ready'])('%s shows only the status without a key', async (path) => {
    const reply = await getJson<Record<string, unknown>>(`${hub.url}${path}`);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok' });
  });

  it.each(['/health', '/health/ready'])('%s shows only the status with a wrong key', async (path) => {
    const reply = await getJson<Record<string, unknown>>(`${hub.url}${path}`, {
      headers: { authorization: `Bearer ${KEY}wrong` },
    });

    expect(reply.status).toBe(200);
    expect(JSON.stringify(reply.body)).not.toContain(ACCOUNT.appId);
    expect(reply.body).toEqual({ status: 'ok' });
  });

  it('/health shows the store and every account with the admin key', async () => {
    const reply = await getJson<{ store: unknown; accounts: unknown }>(`${hub.url}/health`, {
      headers: { authorization: `Bearer ${KEY}` },
    });

    expect(reply.body.store).toMatchObject({ status: 'up', description: expect.any(String) });
    expect(reply.body.accounts).toEqual({ [ACCOUNT.appId]: 'live' });
  });

  it('/health/ready shows the per-indicator detail with the admin key', async () => {
    const reply = await getJson<{ details: Record<string, unknown> }>(`${hub.url}/health/ready`, {
      headers: { authorization: `Bearer ${KEY}` },
    });

    expect(reply.body.details).toHaveProperty('tokenPlane');
    expect(JSON.stringify(reply.body.details)).toContain(ACCOUNT.appId);
  });
});

describe('Cache-Control: no-store on every answer that holds a token, a ticket or a session', () => {
  const admin = (): Record<string, string> => ({
    authorization: `Bearer ${KEY}`,
    'content-type': 'application/json',
  });
  const routes: [string, string, () => Promise<RequestInit>][] = [
    ['GET', '/api/v1/accounts/{appId}/token', async () => ({ headers: admin() })],
    // the second read is answered from memory by the route's own hook
    ['GET', '/api/v1/accounts/{appId}/token', async () => ({ headers: admin() })],
    ['GET', '/api/v1/accounts/{appId}/tickets/jsapi', async () => ({ headers: admin() })],
    [
      'GET',
      '/api/v1/accounts/{appId}/jsapi-signature?url=https%3A%2F%2Fexample.com%2F',
      async () => ({ headers: admin() }),
    ],
    [
      'POST',
      '/api/v1/accounts/{appId}/token/invalid',
      async () => ({ headers: admin(), body: JSON.stringify({ access_token: 'not-the-current-one' }) }),
    ],
    ['POST', '/api/v1/accounts/{appId}/token/refresh', async () => ({ headers: admin(), body: '{}' })],
    [
      'POST',
      '/api/v1/accounts/{appId}/code2session',
      async () => ({ headers: admin(), body: JSON.stringify({ js_code: 'code' }) }),
    ],
    [
      'POST',
      '/api/v1/accounts/{appId}/oauth/access-token',
      async () => ({ headers: admin(), body: JSON.stringify({ code: 'code' }) }),
    ],
    ['GET', '/cgi-bin/token?grant_type=client_credential&appid={appId}&secret={secret}', async () => ({})],
    ['GET', '/cgi-bin/stable_token', async () => ({})],
    [
      'POST',
      '/cgi-bin/stable_token',
      async () => ({
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credential',
          appid: ACCOUNT.appId,
          secret: ACCOUNT.appSecret,
        }),
      }),
    ],
  ];

  it.each(routes)('%s %s', async (method, path, init) => {
    const response = await fetch(
      `${hub.url}${path.replace('{appId}', ACCOUNT.appId).replace('{secret}', ACCOUNT.appSecret)}`,
      {
        method,
        ...(await init()),
      },
    );

    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('answers that hold no secret keep their caching as before (/health)', async () => {
    const response = await fetch(`${hub.url}/health`);
    expect(response.headers.get('cache-control')).toBeNull();
  });
});

describe('an authenticated upload far over the size limit', () => {
  it('is answered 413 and its connection closed, without reading it to the end', async () => {
    const exchange = await sendRaw(
      hub.port,
      `POST /gateway/${ACCOUNT.appId}/cgi-bin/media/upload?type=image HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${THREE_HUNDRED_MB}`,
      THREE_HUNDRED_MB,
      20_000,
    );

    expect(exchange.status).toBe(413);
    expect(exchange.head).toMatch(/^connection: close$/im);
    expect(exchange.closedByServer).toBe(true);
    expect(exchange.bodyBytesSent).toBeLessThan(32 * 1024 * 1024);
  });
});
