import { fetchRead, type ReadResponse } from '../../../test/support/http';
import { sandboxOpenid } from './business-state';
import { mintSandboxOAuthCode } from './oauth';
import { checkSandboxTicket, sandboxTicketStats } from './tickets';
import { parseMultipart } from './uploads';
import { WechatSimulator } from '../wechat-simulator';

const APP = { appId: 'wxbusinessapi0000a', appSecret: 'business-secret-0123456789abcdef' };
const OTHER = { appId: 'wxbusinessapi0000b', appSecret: 'business-secret-fedcba9876543210' };
const RID = / rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;

let clock = Date.UTC(2025, 0, 1, 17, 0, 0);
let sim: WechatSimulator;
let base = '';
const bodies: string[] = [];

beforeEach(async () => {
  sim = new WechatSimulator({ apps: [APP, OTHER], now: () => clock, tokenLifetimeSeconds: 600 });
  base = await sim.listen();
});

afterEach(async () => {
  await sim.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience for reading JSON fields
type Json = any;

async function call(path: string, init?: RequestInit): Promise<ReadResponse<Json>> {
  const answer = await fetchRead<Json>(base + path, { redirect: 'manual', ...init });
  bodies.push(answer.text);
  return answer;
}

function post(path: string, body: unknown, contentType = 'application/json'): ReturnType<typeof call> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body),
  });
}

async function token(app = APP): Promise<string> {
  const { json } = await post('/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: app.appId,
    secret: app.appSecret,
  });
  return json.access_token as string;
}

describe('defaults', () => {
  it('serves the business API and the OAuth routes without any option, and not when replaced', async () => {
    const t = await token();
    expect(
      (await call(`/cgi-bin/user/info?openid=${sandboxOpenid(1)}&access_token=${t}`)).json,
    ).toMatchObject({ subscribe: 1 });
    expect((await call('/sns/auth?access_token=x&openid=y')).json.errcode).toBe(40001);

    const bare = new WechatSimulator({ apps: [APP], businessRoutes: [], routes: () => undefined });
    const bareUrl = await bare.listen();
    try {
      expect((await fetch(`${bareUrl}/cgi-bin/user/info?access_token=x`)).status).toBe(404);
      expect((await fetch(`${bareUrl}/sns/auth`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('checks the token first (41001 / 40001) and answers 44002 / 47001 for empty or bad JSON', async () => {
    expect((await post('/cgi-bin/tags/create', { tag: { name: 'x' } })).json.errcode).toBe(41001);
    expect((await post('/cgi-bin/tags/create?access_token=nope', { tag: { name: 'x' } })).json.errcode).toBe(
      40001,
    );
    const t = await token();
    const empty = await post(`/cgi-bin/tags/create?access_token=${t}`, '');
    expect(empty.json).toMatchObject({ errcode: 44002, errmsg: expect.stringMatching(RID) });
    expect((await post(`/cgi-bin/tags/create?access_token=${t}`, '{oops')).json.errcode).toBe(47001);
  });

  it('keeps each app’s state apart', async () => {
    await post(`/cgi-bin/tags/create?access_token=${await token()}`, { tag: { name: 'mine' } });
    const other = (await call(`/cgi-bin/tags/get?access_token=${await token(OTHER)}`)).json;
    expect(other.tags).toEqual([{ id: 2, name: '星标组', count: 0 }]);
  });
});

describe('ticket/getticket', () => {
  it('issues a new ticket on every call, valid for the token lifetime, counted per app and type', async () => {
    const t = await token();
    const first = (await call(`/cgi-bin/ticket/getticket?type=jsapi&access_token=${t}`)).json;
    const second = (await call(`/cgi-bin/ticket/getticket?type=jsapi&access_token=${t}`)).json;
    const card = (await call(`/cgi-bin/ticket/getticket?type=wx_card&access_token=${t}`)).json;
    expect(first).toEqual({ errcode: 0, errmsg: 'ok', ticket: expect.any(String), expires_in: 600 });
    expect(second.ticket).not.toBe(first.ticket);
    expect(card.ticket).not.toBe(second.ticket);
    expect(sandboxTicketStats(sim)).toEqual({ [APP.appId]: { jsapi: 2, wx_card: 1 } });
    expect((await call('/sandbox/tickets/stats')).json).toEqual({ [APP.appId]: { jsapi: 2, wx_card: 1 } });

    expect(checkSandboxTicket(sim, APP.appId, first.ticket)).toEqual({ state: 'valid', type: 'jsapi' });
    expect(
      (await call(`/sandbox/tickets/check?appid=${APP.appId}&ticket=${encodeURIComponent(card.ticket)}`))
        .json,
    ).toEqual({
      state: 'valid',
      type: 'wx_card',
    });
    expect(checkSandboxTicket(sim, OTHER.appId, first.ticket)).toEqual({ state: 'invalid' });
    expect((await call('/sandbox/tickets/check?appid=x')).status).toBe(400);
    clock += 600_000;
    expect(checkSandboxTicket(sim, APP.appId, first.ticket)).toEqual({ state: 'expired', type: 'jsapi' });
  });

  it('refuses an unknown type and a dead token', async () => {
    const t = await token();
    expect((await call(`/cgi-bin/ticket/getticket?type=other&access_token=${t}`)).json.errcode).toBe(40097);
    sim.revoke(APP.appId, t);
    expect((await call(`/cgi-bin/ticket/getticket?type=jsapi&access_token=${t}`)).json.errcode).toBe(40001);
    expect(sandboxTicketStats(sim)[APP.appId]).toEqual({ jsapi: 0, wx_card: 0 });
  });
});

describe('multipart', () => {
  const boundary = 'XyZ-boundary';
  const file = Buffer.concat([
    Buffer.from('\r\n--XyZ-not-it\r\n'),
    Buffer.from([0, 255, 13, 10, 45, 45]),
    Buffer.alloc(1000, 7),
  ]);
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n{"title":"t"}\r\n`,
    ),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

  it('finds each part by the boundary, bytes intact', () => {
    const parts = parseMultipart(body, `multipart/form-data; boundary=${boundary}`)!;
    expect(parts.map((p) => [p.name, p.filename, p.contentType])).toEqual([
      ['description', undefined, undefined],
      ['media', 'a.jpg', 'image/jpeg'],
    ]);
    expect(parts[1]!.data.equals(file)).toBe(true);
    expect(parseMultipart(body, `multipart/form-data; boundary="${boundary}"`)).toHaveLength(2);
  });

  it('returns null for a body that does not follow its boundary', () => {
    expect(parseMultipart(body, 'multipart/form-data')).toBeNull();
    expect(parseMultipart(body, 'multipart/form-data; boundary=other')).toBeNull();
    expect(
      parseMultipart(body.subarray(0, body.length - 20), `multipart/form-data; boundary=${boundary}`),
    ).toBeNull();
  });

  it('media/upload answers 40004 for a bad type, 41005 without a media part, and stores the bytes', async () => {
    const t = await token();
    const type = `multipart/form-data; boundary=${boundary}`;
    expect((await post(`/cgi-bin/media/upload?type=doc&access_token=${t}`, body, type)).json.errcode).toBe(
      40004,
    );
    expect(
      (await post(`/cgi-bin/media/upload?type=image&access_token=${t}`, 'plain', 'text/plain')).json.errcode,
    ).toBe(41005);
    const uploaded = (await post(`/cgi-bin/media/upload?type=image&access_token=${t}`, body, type)).json;
    expect(uploaded).toEqual({
      type: 'image',
      media_id: expect.any(String),
      created_at: Math.floor(clock / 1000),
    });
    const response = await fetch(`${base}/cgi-bin/media/get?media_id=${uploaded.media_id}&access_token=${t}`);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="a.jpg"');
    expect(Buffer.from(await response.arrayBuffer()).equals(file)).toBe(true);
    clock += 3 * 86_400_000 + 1;
    const expired = await call(
      `/cgi-bin/media/get?media_id=${uploaded.media_id}&access_token=${await token()}`,
    );
    expect(expired.json.errcode).toBe(40007);
  });
});

describe('OAuth and secret-authenticated routes', () => {
  it('mints a code over HTTP and exchanges it once', async () => {
    const minted = (
      await post('/sandbox/oauth/code', { appid: APP.appId, openid: 'o_guest', scope: 'snsapi_base' })
    ).json;
    expect(minted).toEqual({ code: expect.any(String), openid: 'o_guest', scope: 'snsapi_base' });
    const query = (code: string, secret = APP.appSecret): string =>
      `/sns/oauth2/access_token?appid=${APP.appId}&secret=${secret}&code=${code}&grant_type=authorization_code`;
    expect((await call(query(minted.code, 'wrong'))).json.errcode).toBe(40125);
    const granted = (await call(query(minted.code))).json;
    expect(granted).toMatchObject({ openid: 'o_guest', scope: 'snsapi_base', expires_in: 600 });
    expect((await call(query(minted.code))).json.errcode).toBe(40163);
    expect((await post('/sandbox/oauth/code', { appid: 'wxunknown' })).status).toBe(400);
    expect(() => mintSandboxOAuthCode(sim, { appId: APP.appId, openid: 'bad openid!' })).toThrow();
  });

  it('plays the authorize page: redirects with code and state, refuses bad parameters', async () => {
    const redirect = encodeURIComponent('https://app.example/cb');
    const ok = await call(
      `/connect/oauth2/authorize?appid=${APP.appId}&redirect_uri=${redirect}&response_type=code&scope=snsapi_base&state=s1#wechat_redirect`,
    );
    expect(ok.status).toBe(302);
    expect(ok.headers.get('location')).toMatch(/^https:\/\/app\.example\/cb\?code=[\w-]+&state=s1$/);
    for (const bad of [
      `appid=wxunknown&redirect_uri=${redirect}&response_type=code&scope=snsapi_base`,
      `appid=${APP.appId}&redirect_uri=ftp%3A%2F%2Fx&response_type=code&scope=snsapi_base`,
      `appid=${APP.appId}&redirect_uri=${redirect}&response_type=token&scope=snsapi_base`,
      `appid=${APP.appId}&redirect_uri=${redirect}&response_type=code&scope=snsapi_login`,
    ]) {
      expect((await call(`/connect/oauth2/authorize?${bad}`)).status).toBe(400);
    }
  });

  it('clear_quota/v2 takes appid + appsecret from the query or a JSON body', async () => {
    expect(
      (await post(`/cgi-bin/clear_quota/v2?appid=${APP.appId}&appsecret=${APP.appSecret}`, '{}')).json,
    ).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect(
      (await post('/cgi-bin/clear_quota/v2', { appid: APP.appId, appsecret: APP.appSecret })).json.errcode,
    ).toBe(0);
    expect(
      (await post('/cgi-bin/clear_quota/v2', { appid: APP.appId, appsecret: 'wrong' })).json.errcode,
    ).toBe(40125);
    expect((await post('/cgi-bin/clear_quota/v2', { appid: APP.appId })).json.errcode).toBe(41004);
    expect((await post('/cgi-bin/clear_quota/v2', { appsecret: 'x' })).json.errcode).toBe(41002);
    expect((await post('/cgi-bin/clear_quota/v2', { appid: 'wxunknown', appsecret: 'x' })).json.errcode).toBe(
      40013,
    );
  });

  it('seeds followers and resets business state over HTTP', async () => {
    expect((await post('/sandbox/users', { appid: APP.appId, count: 12 })).json).toEqual({
      appid: APP.appId,
      followers: 12,
    });
    const t = await token();
    expect((await call(`/cgi-bin/user/get?access_token=${t}`)).json).toMatchObject({ total: 12, count: 12 });
    expect((await post('/sandbox/users', { appid: APP.appId, count: -1 })).status).toBe(400);
    await post('/sandbox/business/reset', {});
    expect((await call(`/cgi-bin/user/get?access_token=${t}`)).json).toMatchObject({ total: 5 });
  });

  it('never answers with a secret', () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const body of bodies) {
      expect(body).not.toContain(APP.appSecret);
      expect(body).not.toContain(OTHER.appSecret);
    }
  });
});
