import { WechatSimulator } from '../wechat-simulator';
import { sandboxOpenid } from './business-state';

const MP = {
  appId: 'wxsimminiprogram01',
  appSecret: 'simminisecret0000000000000000001',
  kind: 'miniProgram' as const,
};
const OA = { appId: 'wxsimofficialacc01', appSecret: 'simofficialsecret000000000000001' };

let sim: WechatSimulator;
let base = '';

beforeEach(async () => {
  sim = new WechatSimulator({ apps: [MP, OA] });
  base = await sim.listen();
});

afterEach(() => sim.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience for reading JSON fields
type Json = any;

async function get(path: string): Promise<Json> {
  return (await fetch(base + path)).json();
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Json; type: string }> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    type,
    json: type.includes('json') ? await response.json() : await response.arrayBuffer(),
  };
}

async function tokenOf(app: { appId: string; appSecret: string }): Promise<string> {
  const answer = await get(
    `/cgi-bin/token?grant_type=client_credential&appid=${app.appId}&secret=${app.appSecret}`,
  );
  return answer.access_token as string;
}

function login(query: Record<string, string>): Promise<Json> {
  return get(`/sns/jscode2session?${new URLSearchParams(query).toString()}`);
}

describe('simulator: Mini Program login', () => {
  it('mints login codes over HTTP and answers jscode2session as WeChat does', async () => {
    const { json: minted } = await post('/sandbox/wxa/login-code', {
      appid: MP.appId,
      openid: 'o_mp_user_1',
    });
    const query = {
      appid: MP.appId,
      secret: MP.appSecret,
      js_code: minted.code,
      grant_type: 'authorization_code',
    };

    expect(await login(query)).toEqual({ openid: 'o_mp_user_1', session_key: expect.any(String) });
    expect(await login(query)).toMatchObject({ errcode: 40163 });
    expect(await login({ ...query, js_code: 'nope' })).toMatchObject({ errcode: 40029 });
    expect(await login({ ...query, secret: 'wrongsecret' })).toMatchObject({ errcode: 40125 });
    expect(await login({ ...query, grant_type: 'client_credential' })).toMatchObject({ errcode: 40002 });
    expect(
      await login({ appid: MP.appId, secret: MP.appSecret, grant_type: 'authorization_code' }),
    ).toMatchObject({
      errcode: 41008,
    });
    // an Official Account has no Mini Program login
    expect(await login({ ...query, appid: OA.appId, secret: OA.appSecret })).toMatchObject({
      errcode: 40013,
    });
    expect((await post('/sandbox/wxa/login-code', { appid: OA.appId })).status).toBe(400);
  });
});

describe('simulator: Mini Program APIs', () => {
  it('checks the access_token of /wxa/* like every business API (41001, 40001) and refuses an Official Account (48001)', async () => {
    const body = { path: 'pages/index/index' };
    expect((await post('/wxa/generate_urllink', body)).json).toMatchObject({ errcode: 41001 });
    expect((await post('/wxa/generate_urllink?access_token=dead', body)).json).toMatchObject({
      errcode: 40001,
    });
    const oaToken = await tokenOf(OA);
    expect((await post(`/wxa/generate_urllink?access_token=${oaToken}`, body)).json).toMatchObject({
      errcode: 48001,
    });
    const mpToken = await tokenOf(MP);
    expect((await post(`/wxa/generate_urllink?access_token=${mpToken}`, body)).json).toMatchObject({
      errcode: 0,
      url_link: expect.stringMatching(/^https:\/\/wxaurl\.cn\//),
    });
  });

  it('answers a wxacode as a PNG image, and errors as JSON', async () => {
    const token = await tokenOf(MP);
    const image = await post(`/wxa/getwxacodeunlimit?access_token=${token}`, { scene: 'id=1' });
    expect(image.type).toBe('image/png');
    expect(
      Buffer.from(image.json as ArrayBuffer)
        .subarray(1, 4)
        .toString('latin1'),
    ).toBe('PNG');
    const error = await post(`/wxa/getwxacodeunlimit?access_token=${token}`, { scene: 'id=1', width: 100 });
    expect(error.json).toMatchObject({ errcode: 40097 });
  });

  it('limits Mini Program customer-service messages to text, image, link and miniprogrampage', async () => {
    const mp = await tokenOf(MP);
    const oa = await tokenOf(OA);
    const link = {
      title: 't',
      description: 'd',
      url: 'https://e.example',
      thumb_url: 'https://e.example/t.png',
    };
    const send = (token: string, msgtype: string, content: object): Promise<{ json: Json }> =>
      post(`/cgi-bin/message/custom/send?access_token=${token}`, {
        touser: sandboxOpenid(1),
        msgtype,
        [msgtype]: content,
      });

    expect((await send(mp, 'link', link)).json).toMatchObject({ errcode: 0 });
    const card = { title: 't', pagepath: 'pages/index/index?foo=bar', thumb_media_id: 'm' };
    expect((await send(mp, 'miniprogrampage', card)).json).toMatchObject({ errcode: 0 });
    expect(
      sim.customMessages().map((m) => [m.appId, m.body.msgtype, m.body[String(m.body.msgtype)]]),
    ).toEqual([
      [MP.appId, 'link', link],
      [MP.appId, 'miniprogrampage', card],
    ]);
    expect((await send(mp, 'news', { articles: [] })).json).toMatchObject({ errcode: 40008 });
    expect((await send(oa, 'news', { articles: [] })).json).toMatchObject({ errcode: 0 });
    expect((await send(oa, 'link', link)).json).toMatchObject({ errcode: 47001 });
  });
});
