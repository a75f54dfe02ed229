import { closeAfterEach } from '../../test/support/close-after-each';
import { rejectionOf } from '../../test/support/rejection';
import { startApiPlane, type ApiPlane } from '../../test/support/api-plane';
import { WECHAT_BUSINESS_API } from '../sandbox/business/business-api';
import { WechatSimulator, type BusinessRoute, type SimulatorFault } from '../sandbox/wechat-simulator';
import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import type { ApiModuleOptions } from './api-options';
import { toWechatApiError } from './errors/to-wechat-api-error';
import { WechatApiError } from './errors/wechat-api.error';
import { WechatBusyError } from './errors/wechat-busy.error';
import { WechatIpWhitelistError } from './errors/wechat-ip-whitelist.error';
import { WechatPermissionError } from './errors/wechat-permission.error';
import { WechatQuotaError } from './errors/wechat-quota.error';
import { WechatTokenError } from './errors/wechat-token.error';
import { WechatUpstreamError } from './errors/wechat-upstream.error';

const APP = 'wx00000000000api01';
const SECRET = 'apiclientsecret000000000000000001';
const MENU_GET = '/cgi-bin/menu/get';
const USER_INFO = '/cgi-bin/user/info';
const RID = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;

/** Answers with exactly what it received, so tests can see the bytes on the wire. */
const ECHO: BusinessRoute = {
  method: 'POST',
  path: '/cgi-bin/sandbox_echo',
  handler: (request) => ({
    raw: request.body.toString('utf8'),
    contentType: String(request.headers['content-type'] ?? ''),
  }),
};
/** Answers HTML where WeChat would answer JSON (a misrouted proxy). */
const HTML: BusinessRoute = {
  method: 'GET',
  path: '/cgi-bin/sandbox_html',
  handler: () => ({ binary: Buffer.from('<html>502 Bad Gateway</html>'), contentType: 'text/html' }),
};

type Harness = ApiPlane;

const closes = closeAfterEach();
jest.setTimeout(20_000);

async function harness(api: ApiModuleOptions = {}): Promise<Harness> {
  const result = await startApiPlane(APP, SECRET, {
    simulator: { businessRoutes: [...WECHAT_BUSINESS_API, ECHO, HTML] },
    api: { busyRetryDelayMs: 5, timeoutMs: 2_000, ...api },
  });
  closes(() => result.close());
  return result;
}

/** Upstream token calls of the app so far. */
function tokenCalls(sim: WechatSimulator): number {
  const stats = sim.stats().byApp[APP]!;
  return stats.token + stats.stableToken;
}

const failure = (promise: Promise<unknown>) => rejectionOf<WechatApiError>(promise);

describe('WechatApiClient requests', () => {
  it('adds the account token as ?access_token= and resolves to the parsed answer', async () => {
    const { sim, client, tokens } = await harness();
    await client.menu.create(APP, { button: [{ type: 'click', name: 'Hi', key: 'HI' }] });
    const answer = await client.request<{ menu: { button: unknown[] } }>(APP, {
      method: 'GET',
      path: MENU_GET,
    });
    expect(answer.menu.button).toEqual([{ type: 'click', name: 'Hi', key: 'HI' }]);
    const [recorded] = sim.requests(MENU_GET);
    expect(recorded).toMatchObject({ method: 'GET', appId: APP, query: { access_token: '<checked>' } });
    expect(sim.checkToken(APP, await tokens.getAccessToken(APP))).toBe('valid');
  });

  it('keeps query parameters and encodes them', async () => {
    const { sim, client } = await harness();
    await client.request(APP, {
      method: 'GET',
      path: `${USER_INFO}?lang=en`,
      query: { openid: 'o_sandbox_user_0000000000001', x: undefined },
    });
    expect(sim.requests(USER_INFO)[0]!.query).toEqual({
      lang: 'en',
      openid: 'o_sandbox_user_0000000000001',
      access_token: '<checked>',
    });
  });

  it.each([
    ['in the path', { path: `${MENU_GET}?access_token=mine` }],
    ['in the query', { path: MENU_GET, query: { access_token: 'mine' } }],
  ])('refuses an access_token %s without calling WeChat', async (_where, request) => {
    const { sim, client } = await harness();
    await expect(client.request(APP, { method: 'GET', ...request })).rejects.toThrow(TypeError);
    expect(sim.stats().calls[MENU_GET] ?? 0).toBe(0);
  });

  it('refuses malformed requests (relative path, GET with a body)', async () => {
    const { client } = await harness();
    await expect(client.request(APP, { method: 'GET', path: 'cgi-bin/menu/get' })).rejects.toThrow(TypeError);
    await expect(client.request(APP, { method: 'GET', path: 'https://evil.example/x' })).rejects.toThrow(
      TypeError,
    );
    await expect(client.request(APP, { method: 'GET', path: MENU_GET, json: {} })).rejects.toThrow(TypeError);
  });

  it('sends JSON as raw UTF-8, not \\u-escaped', async () => {
    const { client } = await harness();
    const echo = await client.request<{ raw: string; contentType: string }>(APP, {
      method: 'POST',
      path: '/cgi-bin/sandbox_echo',
      json: { button: [{ type: 'click', name: '今日歌曲', key: 'V1001_TODAY_MUSIC' }] },
    });
    expect(echo.raw).toBe('{"button":[{"type":"click","name":"今日歌曲","key":"V1001_TODAY_MUSIC"}]}');
    expect(echo.contentType).toMatch(/^application\/json/);
  });

  it('rejects an unknown account with AccountNotFoundError', async () => {
    const { client } = await harness();
    await expect(client.user.info('wx9999999999999999', 'o')).rejects.toBeInstanceOf(AccountNotFoundError);
  });
});

describe('WechatApiClient token repair', () => {
  it('repairs a revoked token with exactly one upstream token call and succeeds', async () => {
    const { sim, client, tokens } = await harness();
    await client.menu.delete(APP);
    const before = tokenCalls(sim);
    const dead = await tokens.getAccessToken(APP);
    sim.revoke(APP, dead);
    await client.menu.create(APP, { button: [{ type: 'view', name: 'Site', url: 'https://example.com' }] });
    expect(tokenCalls(sim) - before).toBe(1);
    expect(sim.stats().calls['/cgi-bin/menu/create']).toBe(2);
    expect(sim.requests('/cgi-bin/menu/create')).toHaveLength(1);
    expect(await tokens.getAccessToken(APP)).not.toBe(dead);
  });

  it('repairs a token killed by a foreign force refresh the same way', async () => {
    const { sim, client } = await harness();
    await client.misc.callbackIps(APP);
    const before = tokenCalls(sim);
    sim.foreignRefresh(APP, 'stable');
    expect(await client.misc.callbackIps(APP)).toContain('101.226.103.0/25');
    expect(tokenCalls(sim) - before).toBe(1);
    expect(sim.stats().calls['/cgi-bin/getcallbackip']).toBe(3);
  });

  it('has 20 concurrent callers of a revoked token share one refresh', async () => {
    const { sim, client, tokens } = await harness();
    await client.menu.delete(APP);
    const before = tokenCalls(sim);
    sim.revoke(APP, await tokens.getAccessToken(APP));
    await Promise.all(
      Array.from({ length: 20 }, () => client.user.info(APP, 'o_sandbox_user_0000000000001')),
    );
    expect(tokenCalls(sim) - before).toBe(1);
  });

  it('throws WechatTokenError after exactly 2 attempts when the retry is rejected too (no loop)', async () => {
    const { sim, client } = await harness();
    await client.menu.delete(APP);
    sim.injectFault({ kind: 'errcode', errcode: 40001, errmsg: 'invalid credential', paths: [MENU_GET] });
    const error = await failure(client.menu.get(APP));
    expect(error).toBeInstanceOf(WechatTokenError);
    expect(error).toMatchObject({ errcode: 40001, attempts: 2, tokenRepaired: false, path: MENU_GET });
    expect(error.rid).toMatch(RID);
    expect(sim.stats().calls[MENU_GET]).toBe(2);
  });

  it.each([40014, 42001])('treats %i as a token error too', async (errcode) => {
    const { sim, client } = await harness();
    sim.injectFault({ kind: 'errcode', errcode, paths: [MENU_GET], times: 1 });
    await client.menu.create(APP, { button: [{ type: 'click', name: 'A', key: 'A' }] });
    await expect(client.menu.get(APP)).resolves.toMatchObject({ menu: { button: [{ name: 'A' }] } });
    expect(sim.stats().calls[MENU_GET]).toBe(2);
  });
});

describe('WechatApiClient busy retries', () => {
  it('retries -1 twice, then throws WechatBusyError', async () => {
    const { sim, client } = await harness();
    sim.injectFault({ kind: 'busy', paths: [MENU_GET] });
    const error = await failure(client.menu.get(APP));
    expect(error).toBeInstanceOf(WechatBusyError);
    expect(error).toMatchObject({ errcode: -1, errmsg: 'system error', attempts: 3 });
    expect(sim.stats().calls[MENU_GET]).toBe(3);
  });

  it('succeeds when WeChat recovers within the retries, backing off ~200 ms then ~400 ms', async () => {
    const { sim, client } = await harness({ busyRetryDelayMs: 200 });
    await client.menu.create(APP, { button: [{ type: 'click', name: 'A', key: 'A' }] });
    sim.injectFault({ kind: 'busy', paths: [MENU_GET], times: 2 });
    const started = Date.now();
    await expect(client.menu.get(APP)).resolves.toBeDefined();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150 + 300);
    expect(elapsed).toBeLessThan(2_000);
    expect(sim.stats().calls[MENU_GET]).toBe(3);
  });

  it('does not retry a message send on -1 (the user could get it twice)', async () => {
    const { sim, client } = await harness();
    sim.injectFault({ kind: 'busy', paths: ['/cgi-bin/message/template/send'] });
    const error = await failure(
      client.message.sendTemplate(APP, {
        touser: 'o_sandbox_user_0000000000001',
        template_id: 'sandboxTemplate0000000000000000000000000001',
        data: { thing1: { value: 'x' } },
      }),
    );
    expect(error).toBeInstanceOf(WechatBusyError);
    expect(error).toMatchObject({ attempts: 1 });
    expect(sim.stats().calls['/cgi-bin/message/template/send']).toBe(1);
  });
});

describe('WechatApiClient typed errors', () => {
  it.each([
    [45009, 'reach max api daily quota limit', WechatQuotaError, { scope: 'daily' }],
    [
      45011,
      'api minute-quota reach limit, must slower, retry next minute',
      WechatQuotaError,
      { scope: 'minute' },
    ],
    [48001, 'api unauthorized', WechatPermissionError, {}],
    [48004, 'api forbidden for policy reasons', WechatPermissionError, {}],
    [50002, 'user limited', WechatPermissionError, {}],
    [
      40164,
      'invalid ip 119.253.43.19 ipv6 ::ffff:119.253.43.19, not in whitelist',
      WechatIpWhitelistError,
      { ip: '119.253.43.19' },
    ],
  ] as const)('maps %i to its own class, once, without retrying', async (errcode, errmsg, type, fields) => {
    const { sim, client } = await harness();
    sim.injectFault({ kind: 'errcode', errcode, errmsg, paths: [USER_INFO] });
    const error = await failure(client.user.info(APP, 'o_sandbox_user_0000000000001'));
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(WechatApiError);
    expect(error).toMatchObject({ errcode, errmsg, path: USER_INFO, ...fields });
    expect(error.rid).toMatch(RID);
    expect(sim.stats().calls[USER_INFO]).toBe(1);
  });

  it('maps any other errcode to WechatApiError with the rid split off', async () => {
    const { client } = await harness();
    const error = await failure(client.user.info(APP, 'o_nobody'));
    expect(error.constructor).toBe(WechatApiError);
    expect(error).toMatchObject({ errcode: 40003, errmsg: 'invalid openid', path: USER_INFO });
    expect(error.rid).toMatch(RID);
    expect(error.message).toContain('40003');
  });

  it('toWechatApiError builds the same classes from raw errcode/errmsg', () => {
    const error = toWechatApiError(
      45011,
      'api minute-quota reach limit rid: 67f72fe6-5d56b244-42baf190',
      '/cgi-bin/x',
    );
    expect(error).toBeInstanceOf(WechatQuotaError);
    expect(error).toMatchObject({
      scope: 'minute',
      errmsg: 'api minute-quota reach limit',
      rid: '67f72fe6-5d56b244-42baf190',
    });
    expect(toWechatApiError(-1, 'system error', '/p')).toBeInstanceOf(WechatBusyError);
    expect(toWechatApiError(42001, 'access_token expired', '/p')).toBeInstanceOf(WechatTokenError);
  });
});

describe('WechatApiClient upstream failures', () => {
  it('HTTP 5xx → WechatUpstreamError(http) with the status, not retried', async () => {
    const { sim, client } = await harness();
    sim.injectFault({ kind: 'http500', paths: [MENU_GET] });
    const error = await failure(client.menu.get(APP));
    expect(error).toBeInstanceOf(WechatUpstreamError);
    expect(error).toMatchObject({ kind: 'http', statusCode: 500, path: MENU_GET });
    expect(sim.stats().calls[MENU_GET]).toBe(1);
  });

  it('no answer → WechatUpstreamError(timeout) after timeoutMs', async () => {
    const { sim, client } = await harness({ timeoutMs: 300 });
    sim.injectFault({ kind: 'hang', paths: [MENU_GET] });
    const started = Date.now();
    const error = await failure(client.menu.get(APP));
    expect(error).toMatchObject({ kind: 'timeout', path: MENU_GET });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a body that is not JSON → WechatUpstreamError(invalid-response)', async () => {
    const { client } = await harness();
    const error = await failure(client.request(APP, { method: 'GET', path: '/cgi-bin/sandbox_html' }));
    expect(error).toMatchObject({ kind: 'invalid-response', path: '/cgi-bin/sandbox_html' });
  });

  it('nobody listening → WechatUpstreamError(network)', async () => {
    const { client, sim, tokens } = await harness();
    await tokens.getAccessToken(APP);
    await sim.close();
    const error = await failure(client.menu.get(APP));
    expect(error).toBeInstanceOf(WechatUpstreamError);
    expect(error).toMatchObject({ kind: 'network', path: MENU_GET });
  });
});

describe('WechatApiClient secrecy', () => {
  it('never puts a token or the AppSecret in an error message or field', async () => {
    const { sim, client, tokens } = await harness({ timeoutMs: 300 });
    const token = await tokens.getAccessToken(APP);
    const faults: SimulatorFault[] = [
      { kind: 'errcode', errcode: 40001, errmsg: `invalid credential ${token}`, paths: [MENU_GET], times: 2 },
      { kind: 'busy', paths: [MENU_GET], times: 3 },
      { kind: 'http500', paths: [MENU_GET], times: 1 },
      { kind: 'hang', paths: [MENU_GET], times: 1 },
      { kind: 'errcode', errcode: 40164, errmsg: `invalid ip 1.2.3.4 ${token}`, paths: [MENU_GET], times: 1 },
    ];
    const errors: WechatApiError[] = [];
    for (const fault of faults) {
      sim.injectFault(fault);
      errors.push(await failure(client.menu.get(APP)));
    }
    errors.push(
      await failure(client.misc.clearQuotaWithSecret(APP).then(() => client.user.info(APP, 'nobody'))),
    );
    const tokensSeen = [token, await tokens.getAccessToken(APP)];
    for (const error of errors) {
      const text = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`;
      for (const secret of [SECRET, ...tokensSeen]) expect(text).not.toContain(secret);
      expect(error.path).not.toContain('?');
    }
    expect(errors.map((e) => e.constructor.name)).toEqual([
      'WechatTokenError',
      'WechatBusyError',
      'WechatUpstreamError',
      'WechatUpstreamError',
      'WechatIpWhitelistError',
      'WechatApiError',
    ]);
  });
});
