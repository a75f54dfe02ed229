import { startApiPlane, type ApiPlane } from '../../../test/support/api-plane';
import {
  SANDBOX_TEMPLATE_ID,
  SANDBOX_UNSUBSCRIBED_OPENID,
  sandboxIssuedSecrets,
  sandboxOpenid,
} from '../../sandbox/business/business-state';
import {
  mintSandboxLoginCode,
  mintSandboxPhoneCode,
  SANDBOX_PHONE_NUMBER,
  SANDBOX_RISKY_WORD,
} from '../../sandbox/business/wxa';
import { WechatApiError } from '../errors/wechat-api.error';
import { WechatBusyError } from '../errors/wechat-busy.error';
import { WechatQuotaError } from '../errors/wechat-quota.error';

const APP = 'wx0000000000mini01';
const SECRET = 'minisecret0000000000000000000001';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let h: ApiPlane;
jest.setTimeout(20_000);

beforeEach(async () => {
  h = await startApiPlane(APP, SECRET, {
    simulator: { apps: [{ appId: APP, appSecret: SECRET, kind: 'miniProgram' }] },
  });
});

afterEach(() => h.close());

async function failure(promise: Promise<unknown>): Promise<WechatApiError> {
  try {
    await promise;
  } catch (error) {
    return error as WechatApiError;
  }
  throw new Error('expected the call to fail');
}

describe('miniProgram.code2Session', () => {
  it("trades a login code for the user's openid and session_key, signed with the hub's AppSecret", async () => {
    const { code, openid } = mintSandboxLoginCode(h.sim, { appId: APP, unionid: 'o_union_1' });

    const session = await h.client.miniProgram.code2Session(APP, code);

    expect(session).toEqual({ openid, session_key: expect.any(String), unionid: 'o_union_1' });
    expect(sandboxIssuedSecrets(h.sim).sessionKeys).toEqual([session.session_key]);
    const plain = await h.client.miniProgram.code2Session(
      APP,
      mintSandboxLoginCode(h.sim, { appId: APP }).code,
    );
    expect(plain).not.toHaveProperty('unionid');
    expect(plain.session_key).not.toBe(session.session_key);
  });

  it('keeps WeChat errcodes typed (40029 invalid, 40163 used, 40226 risky), never quoting the code or secret', async () => {
    const { code } = mintSandboxLoginCode(h.sim, { appId: APP });
    await h.client.miniProgram.code2Session(APP, code);

    const used = await failure(h.client.miniProgram.code2Session(APP, code));
    const invalid = await failure(h.client.miniProgram.code2Session(APP, 'not-a-code'));
    const risky = await failure(
      h.client.miniProgram.code2Session(APP, mintSandboxLoginCode(h.sim, { appId: APP, risky: true }).code),
    );

    expect(used).toBeInstanceOf(WechatApiError);
    expect([used.errcode, invalid.errcode, risky.errcode]).toEqual([40163, 40029, 40226]);
    expect(used.path).toBe('/sns/jscode2session');
    for (const error of [used, invalid, risky]) {
      expect(`${error.message} ${error.stack}`).not.toContain(code);
      expect(`${error.message} ${error.stack}`).not.toContain(SECRET);
    }
  });

  it('blanks the code and the AppSecret out of an errmsg that quotes them', async () => {
    const { code } = mintSandboxLoginCode(h.sim, { appId: APP });
    h.sim.injectFault({
      kind: 'errcode',
      errcode: 40029,
      errmsg: `invalid code ${code} for secret ${SECRET}`,
      paths: ['/sns/jscode2session'],
      times: 1,
    });

    const error = await failure(h.client.miniProgram.code2Session(APP, code));

    expect(error.errcode).toBe(40029);
    expect(error.errmsg).toMatch(/^invalid code \S+ for secret \S+/);
    expect(`${error.errmsg} ${error.message}`).not.toContain(code);
    expect(`${error.errmsg} ${error.message}`).not.toContain(SECRET);
  });

  it('answers 45011 as WechatQuotaError after 100 logins of one user in a minute', async () => {
    for (let i = 0; i < 100; i++) {
      await h.client.miniProgram.code2Session(APP, mintSandboxLoginCode(h.sim, { appId: APP }).code);
    }
    const error = await failure(
      h.client.miniProgram.code2Session(APP, mintSandboxLoginCode(h.sim, { appId: APP }).code),
    );
    expect(error).toBeInstanceOf(WechatQuotaError);
    expect(error.errcode).toBe(45011);
  });

  it('does not retry -1 (a code is spent once), so the same code still works afterwards', async () => {
    const { code } = mintSandboxLoginCode(h.sim, { appId: APP });
    h.sim.injectFault({ kind: 'busy', paths: ['/sns/jscode2session'], times: 1 });

    const error = await failure(h.client.miniProgram.code2Session(APP, code));

    expect(error).toBeInstanceOf(WechatBusyError);
    expect(error.errcode).toBe(-1);
    await expect(h.client.miniProgram.code2Session(APP, code)).resolves.toHaveProperty('openid');
  });

  it('refuses an unknown account and an empty code without calling WeChat', async () => {
    await expect(h.client.miniProgram.code2Session('wx000000000unknown', 'c')).rejects.toThrow(
      /wx000000000unknown/,
    );
    await expect(h.client.miniProgram.code2Session(APP, '')).rejects.toThrow(TypeError);
  });
});

describe('miniProgram server APIs', () => {
  it("reads a user's phone number once per code", async () => {
    const { code } = mintSandboxPhoneCode(h.sim, { appId: APP });

    const phone = await h.client.miniProgram.getPhoneNumber(APP, code);

    expect(phone).toEqual({
      phoneNumber: SANDBOX_PHONE_NUMBER,
      purePhoneNumber: SANDBOX_PHONE_NUMBER,
      countryCode: '86',
      watermark: { timestamp: expect.any(Number), appid: APP },
    });
    expect(h.sim.requests('/wxa/business/getuserphonenumber')[0]!.body).toEqual({ code });
    expect((await failure(h.client.miniProgram.getPhoneNumber(APP, code))).errcode).toBe(40029);
  });

  it('sends a subscribe message, and maps 43101 (no consent) and 40037 (unknown template)', async () => {
    const message = {
      touser: sandboxOpenid(1),
      template_id: SANDBOX_TEMPLATE_ID,
      page: 'pages/order/detail?id=42',
      miniprogram_state: 'trial' as const,
      data: { thing1: { value: '订单已发货' } },
    };
    await h.client.miniProgram.sendSubscribeMessage(APP, message);
    expect(h.sim.requests('/cgi-bin/message/subscribe/send')[0]!.body).toEqual(message);

    const refused = await failure(
      h.client.miniProgram.sendSubscribeMessage(APP, { ...message, touser: SANDBOX_UNSUBSCRIBED_OPENID }),
    );
    const unknown = await failure(
      h.client.miniProgram.sendSubscribeMessage(APP, { ...message, template_id: 'nope' }),
    );
    expect([refused.errcode, unknown.errcode]).toEqual([43101, 40037]);
  });

  it('downloads a wxacode as an image, and throws the JSON error WeChat answers instead', async () => {
    const image = await h.client.miniProgram.getUnlimitedWxaCode(APP, {
      scene: 'order=42',
      page: 'pages/order/detail',
      width: 280,
    });

    expect(image.contentType).toBe('image/png');
    expect(image.data.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(image.data.readUInt32BE(16)).toBe(280);
    expect(h.sim.requests('/wxa/getwxacodeunlimit')[0]!.body).toEqual({
      scene: 'order=42',
      page: 'pages/order/detail',
      width: 280,
    });
    const error = await failure(
      h.client.miniProgram.getUnlimitedWxaCode(APP, { scene: 'a', page: 'nowhere' }),
    );
    expect(error).toBeInstanceOf(WechatApiError);
    expect(error.errcode).toBe(41030);
  });

  it.each([
    ['an empty scene', { scene: '' }],
    ['a 33-character scene', { scene: 'x'.repeat(33) }],
    ['a scene with a space', { scene: 'a b' }],
    ['a width under 280', { scene: 'a', width: 279 }],
    ['a width over 1280', { scene: 'a', width: 1281 }],
  ])('refuses a wxacode with %s without calling WeChat', (_case, options) => {
    expect(() => h.client.miniProgram.getUnlimitedWxaCode(APP, options)).toThrow(RangeError);
    expect(h.sim.stats().calls['/wxa/getwxacodeunlimit'] ?? 0).toBe(0);
  });

  it('generates a URL scheme and a URL link, with an expiry in days', async () => {
    const scheme = await h.client.miniProgram.generateScheme(APP, {
      jump_wxa: { path: 'pages/index/index', query: 'a=1', env_version: 'release' },
      expiry: { expire_type: 1, expire_interval: 30 },
    });
    const link = await h.client.miniProgram.generateUrlLink(APP, { path: 'pages/index/index', query: 'b=2' });

    expect(scheme).toMatch(/^weixin:\/\/dl\/business\/\?t=\S+$/);
    expect(link).toMatch(/^https:\/\/wxaurl\.cn\/\S+$/);
    expect(h.sim.requests('/wxa/generatescheme')[0]!.body).toEqual({
      jump_wxa: { path: 'pages/index/index', query: 'a=1', env_version: 'release' },
      is_expire: true,
      expire_type: 1,
      expire_interval: 30,
    });
    expect(h.sim.requests('/wxa/generate_urllink')[0]!.body).toEqual({
      path: 'pages/index/index',
      query: 'b=2',
    });
    expect(() =>
      h.client.miniProgram.generateUrlLink(APP, { expiry: { expire_type: 1, expire_interval: 31 } }),
    ).toThrow(RangeError);
    const badPath = await failure(
      h.client.miniProgram.generateScheme(APP, { jump_wxa: { path: '/pages/x' } }),
    );
    expect(badPath.errcode).toBe(40165);
  });

  it('checks a text (version 2) and starts an asynchronous media check', async () => {
    const clean = await h.client.miniProgram.checkText(APP, {
      content: '你好',
      openid: sandboxOpenid(1),
      scene: 2,
    });
    const risky = await h.client.miniProgram.checkText(APP, {
      content: `buy ${SANDBOX_RISKY_WORD}`,
      openid: sandboxOpenid(1),
      scene: 2,
    });
    const traceId = await h.client.miniProgram.checkMediaAsync(APP, {
      media_url: 'https://example.com/a.png',
      media_type: 2,
      openid: sandboxOpenid(1),
      scene: 1,
    });

    expect(clean.result).toEqual({ suggest: 'pass', label: 100 });
    expect(risky.result.suggest).toBe('risky');
    expect(clean.trace_id).toEqual(expect.any(String));
    expect(traceId).toEqual(expect.any(String));
    expect(h.sim.requests('/wxa/msg_sec_check')[0]!.body).toEqual({
      content: '你好',
      openid: sandboxOpenid(1),
      scene: 2,
      version: 2,
    });
    expect(h.sim.requests('/wxa/media_check_async')[0]!.body).toMatchObject({ version: 2, media_type: 2 });
  });

  it('sends the customer-service kinds a Mini Program may send, and refuses the others', async () => {
    const link = {
      touser: sandboxOpenid(1),
      msgtype: 'link' as const,
      link: {
        title: 't',
        description: 'd',
        url: 'https://example.com',
        thumb_url: 'https://example.com/t.png',
      },
    };
    await h.client.miniProgram.sendCustomerServiceMessage(APP, link);
    expect(h.sim.customMessages().map((m) => m.body)).toEqual([link]);

    await expect(
      h.client.miniProgram.sendCustomerServiceMessage(APP, {
        touser: sandboxOpenid(1),
        msgtype: 'voice',
        voice: { media_id: 'm' },
      } as never),
    ).rejects.toThrow(TypeError);
    // the generic sender reaches WeChat, which refuses a kind Mini Programs cannot send
    const refused = await failure(
      h.client.message.sendCustom(APP, {
        touser: sandboxOpenid(1),
        msgtype: 'voice',
        voice: { media_id: 'm' },
      }),
    );
    expect(refused.errcode).toBe(40008);
  });

  it('repairs a dead token once and succeeds, as for every API', async () => {
    const dead = await h.tokens.getAccessToken(APP);
    h.sim.revoke(APP, dead);

    const link = await h.client.miniProgram.generateUrlLink(APP);

    expect(link).toMatch(/^https:\/\/wxaurl\.cn\//);
    expect(await h.tokens.getAccessToken(APP)).not.toBe(dead);
  });
});
