import { connectAccountsPlane, type ApiPlane } from '../../test/support/api-plane';
import { closeAfterEach } from '../../test/support/close-after-each';
import { rejectionOf } from '../../test/support/rejection';
import { Test } from '@nestjs/testing';
import { AccountConfig } from '../accounts/account-config';
import { sandboxOpenid } from '../sandbox/business/business-state';
import { mintSandboxOAuthCode } from '../sandbox/business/oauth';
import { WechatSimulator } from '../sandbox/wechat-simulator';
import { MemoryTokenStore } from '../store/memory-token-store';
import { TokenModule } from '../token/token.module';
import { ApiModule } from './api.module';
import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import { WechatApiError } from './errors/wechat-api.error';
import { WechatPermissionError } from './errors/wechat-permission.error';
import { WechatTokenError } from './errors/wechat-token.error';
import { WechatOAuth } from './wechat-oauth';

const APP = 'wx000000000oauth01';
const SECRET = 'oauthsecret0000000000000000000001';
/** An account whose configured secret is wrong (WeChat answers 40125). */
const WRONG = 'wx000000000oauth02';
const WRONG_SECRET = 'notthesecret00000000000000000002';

interface Harness extends ApiPlane {
  oauth: WechatOAuth;
}

const closes = closeAfterEach();
let clock = Date.now();
jest.setTimeout(20_000);

async function harness(): Promise<Harness> {
  clock = Date.now();
  const sim = new WechatSimulator({
    apps: [
      { appId: APP, appSecret: SECRET },
      { appId: WRONG, appSecret: 'therealsecret000000000000000002' },
    ],
    now: () => clock,
  });
  const url = await sim.listen();
  closes(() => sim.close());
  const plane = await connectAccountsPlane(
    [
      { appId: APP, appSecret: SECRET },
      { appId: WRONG, appSecret: WRONG_SECRET },
    ],
    url,
    { oauthBaseUrl: url },
  );
  closes(() => plane.close());
  return { ...plane, sim, url, oauth: plane.moduleRef.get(WechatOAuth) };
}

const failure = (promise: Promise<unknown>) => rejectionOf<WechatApiError>(promise);

/** Follows the authorize URL like WeChat's in-app browser: the simulator consents and redirects. */
async function consent(authorizeUrl: string): Promise<URL> {
  const response = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location')!);
}

describe('WechatOAuth.authorizeUrl', () => {
  it('builds exactly the URL WeChat requires, ending in #wechat_redirect', async () => {
    const { oauth, url } = await harness();
    expect(oauth.authorizeUrl(APP, 'https://shop.example.com/cb?x=1&y=2', 'snsapi_userinfo', 'abc123')).toBe(
      `${url}/connect/oauth2/authorize?appid=${APP}` +
        '&redirect_uri=https%3A%2F%2Fshop.example.com%2Fcb%3Fx%3D1%26y%3D2&response_type=code&scope=snsapi_userinfo' +
        '&state=abc123#wechat_redirect',
    );
    expect(oauth.authorizeUrl(APP, 'https://a.example/', 'snsapi_base')).toMatch(
      /&scope=snsapi_base&state=#wechat_redirect$/,
    );
  });

  it('defaults to open.weixin.qq.com', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TokenModule.forRoot({
          accounts: [Object.assign(new AccountConfig(), { appId: APP, appSecret: SECRET })],
          store: new MemoryTokenStore(),
          isGlobal: true,
        }),
        ApiModule.forRoot(),
      ],
    }).compile();
    try {
      expect(moduleRef.get(WechatOAuth).authorizeUrl(APP, 'https://a.example/', 'snsapi_base', 's')).toBe(
        `https://open.weixin.qq.com/connect/oauth2/authorize?appid=${APP}&redirect_uri=https%3A%2F%2Fa.example%2F` +
          '&response_type=code&scope=snsapi_base&state=s#wechat_redirect',
      );
    } finally {
      await moduleRef.close();
    }
  });

  it('validates state (≤ 128 letters and digits), redirect URI, scope and account', async () => {
    const { oauth } = await harness();
    expect(() => oauth.authorizeUrl(APP, 'https://a.example/', 'snsapi_base', 'a'.repeat(128))).not.toThrow();
    expect(() => oauth.authorizeUrl(APP, 'https://a.example/', 'snsapi_base', 'a'.repeat(129))).toThrow(
      RangeError,
    );
    expect(() => oauth.authorizeUrl(APP, 'https://a.example/', 'snsapi_base', 'has space')).toThrow(
      RangeError,
    );
    expect(() => oauth.authorizeUrl(APP, 'https://a.example/', 'snsapi_base', 'a&b=c')).toThrow(RangeError);
    expect(() => oauth.authorizeUrl(APP, '/relative', 'snsapi_base')).toThrow(TypeError);
    expect(() => oauth.authorizeUrl(APP, 'javascript:alert(1)', 'snsapi_base')).toThrow(TypeError);
    expect(() => oauth.authorizeUrl(APP, 'https://a.example/', 'snsapi_login' as never)).toThrow(TypeError);
    expect(() => oauth.authorizeUrl('wx9999999999999999', 'https://a.example/', 'snsapi_base')).toThrow(
      AccountNotFoundError,
    );
  });
});

describe('WechatOAuth flow', () => {
  it('runs end to end: authorize → code → web token → profile → check → refresh', async () => {
    const { oauth, sim, tokens } = await harness();
    const basicToken = await tokens.getAccessToken(APP);
    const tokenCalls = sim.stats().byApp[APP]!.stableToken;

    const redirected = await consent(
      oauth.authorizeUrl(APP, 'https://shop.example.com/cb?from=menu', 'snsapi_userinfo', 'xyz'),
    );
    expect(redirected.origin + redirected.pathname).toBe('https://shop.example.com/cb');
    expect(redirected.searchParams.get('from')).toBe('menu');
    expect(redirected.searchParams.get('state')).toBe('xyz');
    const code = redirected.searchParams.get('code')!;

    const web = await oauth.exchangeCode(APP, code);
    expect(web).toMatchObject({
      access_token: expect.any(String),
      expires_in: 7200,
      refresh_token: expect.any(String),
      openid: sandboxOpenid(1),
      scope: 'snsapi_userinfo',
    });

    await expect(oauth.userInfo(web.access_token, web.openid)).resolves.toMatchObject({
      openid: sandboxOpenid(1),
      nickname: 'Sandbox User 1',
      privilege: [],
    });
    await expect(oauth.checkWebToken(web.access_token, web.openid)).resolves.toBe(true);
    await expect(oauth.checkWebToken(web.access_token, sandboxOpenid(2))).resolves.toBe(false);
    await expect(oauth.checkWebToken('not-a-token', web.openid)).resolves.toBe(false);

    const renewed = await oauth.refresh(APP, web.refresh_token);
    expect(renewed.access_token).not.toBe(web.access_token);
    expect(renewed).toMatchObject({
      openid: web.openid,
      refresh_token: web.refresh_token,
      scope: 'snsapi_userinfo',
    });
    await expect(oauth.checkWebToken(renewed.access_token, web.openid)).resolves.toBe(true);

    // the web token lives with the user, never in the basic-token slot, and the flow cost no token call
    expect(await tokens.getAccessToken(APP)).toBe(basicToken);
    expect(sim.stats().byApp[APP]!.stableToken).toBe(tokenCalls);
  });

  it('a web token is no basic token: /cgi-bin/* refuses it, and a basic token cannot read /sns/userinfo', async () => {
    const { oauth, client, tokens, sim } = await harness();
    const web = await oauth.exchangeCode(APP, mintSandboxOAuthCode(sim, { appId: APP }).code);
    const refused = await failure(
      client.requestWithoutToken({
        method: 'GET',
        path: '/cgi-bin/user/info',
        query: { access_token: web.access_token, openid: web.openid },
      }),
    );
    expect(refused).toBeInstanceOf(WechatTokenError);
    const basic = await tokens.getAccessToken(APP);
    await expect(oauth.userInfo(basic, web.openid)).rejects.toBeInstanceOf(WechatTokenError);
  });

  it('maps code errors: 40029 invalid, 40163 already used (codes are single-use)', async () => {
    const { oauth, sim } = await harness();
    const { code } = mintSandboxOAuthCode(sim, { appId: APP });
    await oauth.exchangeCode(APP, code);
    const reused = await failure(oauth.exchangeCode(APP, code));
    expect(reused).toMatchObject({
      errcode: 40163,
      errmsg: 'code been used',
      path: '/sns/oauth2/access_token',
    });
    expect(reused.constructor).toBe(WechatApiError);
    await expect(oauth.exchangeCode(APP, 'made-up-code')).rejects.toMatchObject({ errcode: 40029 });
  });

  it('a code expires after 5 minutes; a refresh token after 30 days (42002), an unknown one is 40030', async () => {
    const { oauth, sim } = await harness();
    const stale = mintSandboxOAuthCode(sim, { appId: APP }).code;
    const web = await oauth.exchangeCode(APP, mintSandboxOAuthCode(sim, { appId: APP }).code);
    clock += 5 * 60_000 + 1;
    await expect(oauth.exchangeCode(APP, stale)).rejects.toMatchObject({ errcode: 40029 });
    await expect(oauth.userInfo(web.access_token, web.openid)).resolves.toBeDefined();
    clock += 2 * 3_600_000;
    await expect(oauth.userInfo(web.access_token, web.openid)).rejects.toMatchObject({ errcode: 42001 });
    await expect(oauth.checkWebToken(web.access_token, web.openid)).resolves.toBe(false);
    await expect(oauth.refresh(APP, 'unknown-refresh-token')).rejects.toMatchObject({ errcode: 40030 });
    clock += 30 * 86_400_000;
    await expect(oauth.refresh(APP, web.refresh_token)).rejects.toMatchObject({
      errcode: 42002,
      errmsg: 'refresh_token expired',
    });
  });

  it('snsapi_base grants no profile: userInfo → WechatPermissionError 48001', async () => {
    const { oauth, sim } = await harness();
    const web = await oauth.exchangeCode(
      APP,
      mintSandboxOAuthCode(sim, { appId: APP, scope: 'snsapi_base', openid: 'o_visitor_1' }).code,
    );
    expect(web).toMatchObject({ openid: 'o_visitor_1', scope: 'snsapi_base' });
    const error = await failure(oauth.userInfo(web.access_token, web.openid));
    expect(error).toBeInstanceOf(WechatPermissionError);
    expect(error).toMatchObject({ errcode: 48001, path: '/sns/userinfo' });
  });

  it('never shows the AppSecret, a code or a token in an error', async () => {
    const { oauth, sim, client } = await harness();
    const { code } = mintSandboxOAuthCode(sim, { appId: WRONG });
    const errors = [
      await failure(oauth.exchangeCode(WRONG, code)),
      await failure(client.misc.clearQuotaWithSecret(WRONG)),
      await failure(oauth.refresh(APP, 'some-refresh-token-value')),
      await failure(oauth.userInfo('some-web-token-value', 'o')),
    ];
    expect(errors.map((e) => e.errcode)).toEqual([40125, 40125, 40030, 40001]);
    for (const error of errors) {
      const text = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`;
      for (const secret of [WRONG_SECRET, SECRET, code, 'some-refresh-token-value', 'some-web-token-value']) {
        expect(text).not.toContain(secret);
      }
      expect(error.path).not.toContain('?');
    }
  });
});
