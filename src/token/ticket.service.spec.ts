import { randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { AccountConfig } from '../accounts/account-config';
import { WechatSimulator, type BusinessRoute } from '../sandbox/wechat-simulator';
import { MemoryTokenStore } from '../store/memory-token-store';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { jsapiSignature, TicketService } from './ticket.service';
import { TokenModule } from './token.module';
import type { TokenModuleOptions } from './token-plane-options';
import { TokenService } from './token.service';

const APP = 'wxticket0000000001';
const SECRET = 'ticketsecret00000000000000000001';
const GETTICKET = '/cgi-bin/ticket/getticket';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('jsapiSignature', () => {
  it('matches the official JS-SDK vectors and ignores the #fragment', () => {
    const ticket = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
    expect(
      jsapiSignature(ticket, 'Wm3WZYTPz0wzccnW', 1414587457, 'http://mp.weixin.qq.com?params=value'),
    ).toBe('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
    expect(jsapiSignature(ticket, 'Wm3WZYTPz0wzccnW', '1414587457', 'http://mp.weixin.qq.com')).toBe(
      'f4d90daf4b3bca3078ab155816175ba34c443a7b',
    );
    expect(
      jsapiSignature(ticket, 'Wm3WZYTPz0wzccnW', 1414587457, 'http://mp.weixin.qq.com?params=value#/page'),
    ).toBe('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
  });
});

describe('TicketService', () => {
  let sim: WechatSimulator;
  let moduleRef: TestingModule;
  const lifetime = { seconds: 7200 };
  // a getticket endpoint like WeChat's: every call issues a new ticket
  const getticket: BusinessRoute = {
    method: 'GET',
    path: GETTICKET,
    handler: (request) =>
      request.query.type === 'jsapi' || request.query.type === 'wx_card'
        ? {
            errcode: 0,
            errmsg: 'ok',
            ticket: `tk_${randomBytes(24).toString('base64url')}`,
            expires_in: lifetime.seconds,
          }
        : { errcode: 40097, errmsg: 'invalid args' },
  };

  async function start(
    options: Partial<TokenModuleOptions> = {},
    timing = {},
  ): Promise<{ tickets: TicketService; tokens: TokenService }> {
    sim = new WechatSimulator({
      apps: [{ appId: APP, appSecret: SECRET }],
      businessRoutes: [getticket],
      ...timing,
    });
    const url = await sim.listen();
    moduleRef = await Test.createTestingModule({
      imports: [
        TokenModule.forRoot({
          accounts: [Object.assign(new AccountConfig(), { appId: APP, appSecret: SECRET })],
          apiBaseUrl: url,
          store: new MemoryTokenStore(),
          refreshAheadSeconds: 60,
          ...options,
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    return { tickets: moduleRef.get(TicketService), tokens: moduleRef.get(TokenService) };
  }

  afterEach(async () => {
    lifetime.seconds = 7200;
    await moduleRef?.close();
    await sim?.close();
  });

  it('serves concurrent first uses from one getticket call', async () => {
    const { tickets } = await start();
    const values = await Promise.all(Array.from({ length: 50 }, () => tickets.getTicket(APP, 'jsapi')));
    expect(new Set(values.map((t) => t.value)).size).toBe(1);
    expect(sim.requests(GETTICKET)).toHaveLength(1);
    expect(sim.requests(GETTICKET)[0]!.query.type).toBe('jsapi');
    await tickets.getTicket(APP, 'jsapi');
    expect(sim.requests(GETTICKET)).toHaveLength(1);
  });

  it('keeps jsapi and wx_card tickets apart', async () => {
    const { tickets } = await start();
    const [jsapi, card] = await Promise.all([
      tickets.getTicket(APP, 'jsapi'),
      tickets.getTicket(APP, 'wx_card'),
    ]);
    expect(jsapi.value).not.toBe(card.value);
    expect(
      sim
        .requests(GETTICKET)
        .map((r) => r.query.type)
        .sort(),
    ).toEqual(['jsapi', 'wx_card']);
  });

  it('signs a page URL with the current ticket', async () => {
    const { tickets } = await start();
    const signed = await tickets.getJsapiSignature(APP, 'https://shop.example.com/item?id=1#reviews');
    const ticket = await tickets.getTicket(APP, 'jsapi');
    expect(signed.url).toBe('https://shop.example.com/item?id=1');
    expect(signed.nonceStr).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(Math.abs(signed.timestamp - Date.now() / 1000)).toBeLessThan(5);
    expect(signed.signature).toBe(
      jsapiSignature(ticket.value, signed.nonceStr, signed.timestamp, signed.url),
    );
    await expect(tickets.getJsapiSignature(APP, '/relative/page')).rejects.toBeInstanceOf(TypeError);
  });

  it('repairs a dead access token once and retries the ticket call', async () => {
    const { tickets, tokens } = await start();
    const token = await tokens.getAccessToken(APP);
    sim.foreignRefresh(APP, 'stable');
    expect(sim.checkToken(APP, token)).toBe('invalid');
    const ticket = await tickets.getTicket(APP, 'jsapi');
    expect(ticket.value).toMatch(/^tk_/);
    expect(sim.requests(GETTICKET)).toHaveLength(1); // the refused attempt is answered before it is recorded
    expect(sim.stats().byApp[APP]!.stableToken).toBe(2);
    expect(sim.checkToken(APP, await tokens.getAccessToken(APP))).toBe('valid');
  });

  it('refreshes ahead of expiry on its schedule once used', async () => {
    lifetime.seconds = 6;
    const { tickets } = await start({ refreshAheadSeconds: 2 });
    const first = await tickets.getTicket(APP, 'jsapi');
    await sleep(4700);
    const second = await tickets.getTicket(APP, 'jsapi');
    expect(second.value).not.toBe(first.value);
    expect(second.version).toBe(first.version + 1);
    expect(sim.requests(GETTICKET)).toHaveLength(2);
  });

  it('backs off after a refused ticket call instead of retrying on every read', async () => {
    const { tickets } = await start();
    sim.injectFault({ kind: 'errcode', errcode: 48001, errmsg: 'api unauthorized', paths: [GETTICKET] });
    const errors = await Promise.all(
      Array.from({ length: 10 }, () => tickets.getTicket(APP, 'jsapi').catch((e: unknown) => e)),
    );
    for (const error of errors) expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(errors[0]).toMatchObject({ errcode: 48001 });
    await tickets.getTicket(APP, 'jsapi').catch(() => undefined);
    expect(sim.stats().calls[GETTICKET]).toBe(1);
  });
});
