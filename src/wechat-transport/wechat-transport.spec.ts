import { rejectionOf } from '../../test/support/rejection';
import { createServer, type Server, type Socket } from 'node:net';
import { startApiPlane } from '../../test/support/api-plane';
import { closeAfterEach } from '../../test/support/close-after-each';
import { AccountConfig } from '../accounts/account-config';
import { WechatForwarder } from '../api/gateway/wechat-forwarder';
import { WECHAT_BUSINESS_API } from '../sandbox/business/business-api';
import { UpstreamTokenError } from '../token/errors/upstream-token.error';
import { WechatTokenClient } from '../token/wechat-token-client';
import { CustomerServiceSender } from '../wechat-callback/customer-service-sender';
import type { ResolvedCallbackOptions } from '../wechat-callback/wechat-callback-options';
import { withTokenRetry } from './token-retry';
import { WechatTransportError } from './transport-failure';
import { classifyErrcode, CONFIGURATION_ERRCODES, isTokenDead } from './wechat-errcodes';
import { wechatPools } from './wechat-pool';
import { WechatTransport } from './wechat-transport';

const APP = 'wx000000000transp1';
const SECRET = 'transportsecret00000000000000001';

jest.setTimeout(20_000);

/** A TCP server that accepts connections and never answers: every request to it times out. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Everything a caller could show of an error: message, stack, own fields, cause. */
function everythingIn(error: unknown): string {
  const e = error as Error & { cause?: unknown };
  return [String(e), e.stack ?? '', JSON.stringify(e), e.cause === undefined ? '' : String(e.cause)].join(
    '\n',
  );
}

const failure = (promise: Promise<unknown>) => rejectionOf<unknown>(promise);

describe('the WeChat errcode table', () => {
  it('names the dead-token codes once: 40001, 40014, 42001', () => {
    for (const errcode of [40001, 40014, 42001]) {
      expect(isTokenDead(errcode)).toBe(true);
      expect(classifyErrcode(errcode)).toBe('token-dead');
    }
    for (const errcode of [0, -1, 40003, 41001, 45009, 48001, undefined, null]) {
      expect(isTokenDead(errcode)).toBe(false);
    }
  });

  it('tells busy, quota, rate, IP whitelist, permission and configuration apart', () => {
    expect(classifyErrcode(0)).toBe('ok');
    expect(classifyErrcode(-1)).toBe('busy');
    expect(classifyErrcode(45009)).toBe('quota');
    expect(classifyErrcode(45011)).toBe('rate');
    expect(classifyErrcode(40164)).toBe('ip-whitelist');
    for (const errcode of [48001, 48004, 50001, 50002]) expect(classifyErrcode(errcode)).toBe('permission');
    for (const errcode of [40013, 40125, 40243, 89503, 89501, 89506, 89507, 41002, 41004]) {
      expect(classifyErrcode(errcode)).toBe('configuration');
      expect(CONFIGURATION_ERRCODES.get(errcode)).toEqual(expect.any(String));
    }
    expect(classifyErrcode(40003)).toBe('other');
  });

  it('reads 40001 on the token endpoints as a wrong AppSecret, elsewhere as a dead token', () => {
    expect(classifyErrcode(40001, 'token')).toBe('configuration');
    expect(classifyErrcode(40001, 'business')).toBe('token-dead');
  });
});

describe('withTokenRetry', () => {
  const errcodeOf = (answer: { errcode: number }): number => answer.errcode;

  /** A WeChat call that always answers `errcode`, counting how often it was made. */
  function answering(errcode: number): { call: () => Promise<{ errcode: number }>; calls: () => number } {
    let calls = 0;
    return {
      call: async () => {
        calls++;
        return { errcode };
      },
      calls: () => calls,
    };
  }

  it('reports a dead token and calls once more with the fresh one, never a third time', async () => {
    const used: string[] = [];
    const reported: string[] = [];
    const outcome = await withTokenRetry({
      token: 'token-1',
      call: async (token) => {
        used.push(token);
        return { errcode: 40001 };
      },
      errcodeOf,
      reportInvalid: async (token) => {
        reported.push(token);
        return `fresh-after-${token}`;
      },
    });
    expect(used).toEqual(['token-1', 'fresh-after-token-1']);
    expect(reported).toEqual(['token-1']);
    expect(outcome).toEqual({ result: { errcode: 40001 }, attempts: 2, repaired: true });
  });

  it('makes one call when the answer is not a dead token', async () => {
    const wechat = answering(45009);
    const outcome = await withTokenRetry({
      token: 't',
      call: wechat.call,
      errcodeOf,
      reportInvalid: () => Promise.reject(new Error('must not be called')),
    });
    expect(wechat.calls()).toBe(1);
    expect(outcome.attempts).toBe(1);
  });

  it('repairs without resending what cannot be replayed, and keeps the first answer when no repair came', async () => {
    const expired = answering(42001);
    const once = await withTokenRetry({
      token: 't',
      call: expired.call,
      errcodeOf,
      reportInvalid: async () => 'fresh',
      replayable: false,
    });
    expect(expired.calls()).toBe(1);
    expect(once).toMatchObject({ attempts: 1, repaired: true });
    const invalid = answering(40014);
    const unrepaired = await withTokenRetry({
      token: 't',
      call: invalid.call,
      errcodeOf,
      reportInvalid: async () => undefined,
    });
    expect(invalid.calls()).toBe(1);
    expect(unrepaired).toMatchObject({ attempts: 1, repaired: false });
  });
});

describe('one pool per origin', () => {
  const closers = closeAfterEach();

  it('the token client, API client, gateway forwarder and customer-service sender share one Pool and its connections', async () => {
    const plane = await startApiPlane(APP, SECRET, { simulator: { businessRoutes: WECHAT_BUSINESS_API } });
    closers(() => plane.close());
    const { sim, url, client, tokens } = plane;
    const tokenClient = new WechatTokenClient(url, 2_000);
    closers(() => tokenClient.onModuleDestroy());
    const forwarder = new WechatForwarder(tokens, { apiBaseUrl: url });
    closers(() => forwarder.onModuleDestroy());
    const sender = new CustomerServiceSender(tokens, { apiBaseUrl: url } as ResolvedCallbackOptions);
    closers(() => sender.onModuleDestroy());
    const token = await tokens.getAccessToken(APP);

    const origin = new URL(url).origin;
    const pools = wechatPools().filter((pool) => pool.origin === origin);
    // the token plane's own token client, the API client, and the three made here
    expect(pools).toHaveLength(1);
    expect(pools[0]).toMatchObject({ users: 5, open: true });

    let connections = 0;
    sim.server.server.on('connection', () => connections++);
    // one call after another through each user: one keep-alive connection serves them all
    for (let round = 0; round < 3; round++) {
      expect(await tokenClient.probe(token)).toBe('alive');
      await client.request(APP, { method: 'GET', path: '/cgi-bin/getcallbackip' });
      const answer = await forwarder.forward({
        appId: APP,
        method: 'GET',
        target: { path: '/cgi-bin/getcallbackip', queryParts: [], accessToken: undefined },
        contentType: undefined,
        accept: undefined,
        userAgent: undefined,
        body: { kind: 'none' },
      });
      expect(answer.status).toBe(200);
      await sender.send(APP, { touser: 'oUser', msgtype: 'text', text: { content: 'hi' } });
    }
    expect(connections).toBeLessThanOrEqual(1);
  });

  it('closes the pool when its last user lets go, and opens a new one for the next', async () => {
    const server = await silentServer();
    closers(() => server.close());
    const a = new WechatTransport({
      baseUrl: server.url,
      timeoutMs: 100,
      connectTimeoutMs: 100,
      connections: 2,
    });
    const b = new WechatTransport({
      baseUrl: server.url,
      timeoutMs: 100,
      connectTimeoutMs: 50,
      connections: 3,
    });
    const origin = new URL(server.url).origin;
    expect(wechatPools().find((pool) => pool.origin === origin)).toMatchObject({
      users: 2,
      open: false,
      connections: 5,
      connectTimeoutMs: 50,
    });
    await failure(a.request({ method: 'GET', path: '/x' }));
    expect(wechatPools().find((pool) => pool.origin === origin)).toMatchObject({ users: 2, open: true });
    await a.close();
    await a.close();
    expect(wechatPools().find((pool) => pool.origin === origin)).toMatchObject({ users: 1 });
    await b.close();
    expect(wechatPools().find((pool) => pool.origin === origin)).toBeUndefined();
    const c = new WechatTransport({
      baseUrl: server.url,
      timeoutMs: 100,
      connectTimeoutMs: 100,
      connections: 1,
    });
    closers(() => c.close());
    expect(wechatPools().find((pool) => pool.origin === origin)).toMatchObject({ users: 1, open: false });
  });
});

describe('safe error text', () => {
  const closers = closeAfterEach();

  it('a timeout on a URL with an access_token and a secret says neither', async () => {
    const server = await silentServer();
    closers(() => server.close());
    const transport = new WechatTransport({
      baseUrl: server.url,
      timeoutMs: 150,
      connectTimeoutMs: 1_000,
      connections: 1,
    });
    closers(() => transport.close());
    const error = await failure(
      transport.request({
        method: 'GET',
        path: '/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=TopSecretValue123456&access_token=TokenValue987654321',
      }),
    );
    expect(error).toBeInstanceOf(WechatTransportError);
    expect(error).toMatchObject({ kind: 'timeout', message: 'WeChat did not answer within 150 ms' });
    expect(everythingIn(error)).not.toMatch(/TopSecretValue123456|TokenValue987654321|\/cgi-bin/);
  });

  it('the token client turns a timeout of the legacy call (the AppSecret in its URL) into a safe UpstreamTokenError', async () => {
    const server = await silentServer();
    closers(() => server.close());
    const tokenClient = new WechatTokenClient(server.url, 150);
    closers(() => tokenClient.onModuleDestroy());
    const account = Object.assign(new AccountConfig(), {
      appId: APP,
      appSecret: 'LegacySecretValue0000000000000001',
      tokenEndpoint: 'legacy',
    });
    const error = await failure(tokenClient.fetchToken(account));
    expect(error).toBeInstanceOf(UpstreamTokenError);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect(everythingIn(error)).not.toMatch(/LegacySecretValue|secret=/);
  });

  it('a refused connection is named by its code only', async () => {
    const server = await silentServer();
    const url = server.url;
    await server.close();
    const transport = new WechatTransport({
      baseUrl: url,
      timeoutMs: 500,
      connectTimeoutMs: 500,
      connections: 1,
    });
    closers(() => transport.close());
    const error = await failure(
      transport.request({ method: 'GET', path: '/cgi-bin/getcallbackip?access_token=TokenValue987654321' }),
    );
    expect(error).toMatchObject({ kind: 'network', message: 'cannot reach WeChat (ECONNREFUSED)' });
    expect(everythingIn(error)).not.toContain('TokenValue987654321');
  });
});
