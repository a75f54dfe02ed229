import { Injectable, Scope } from '@nestjs/common';
import {
  compileCallbackModule,
  startCallbackTestbed,
  type CallbackTestbed,
} from '../../test/support/callback-testing';
import { openReply, pushXml, signPush, type PushTarget } from '../sandbox/push-builder';
import { OnWechatEvent, OnWechatMessage } from './wechat-callback.decorators';
import { SUCCESS } from './wechat-callback.dispatcher';
import { WechatCallbackRouter } from './wechat-callback.router';
import { currentWechatContext, type WechatCallbackContext } from './wechat-context';
import { news, text } from './wechat-reply';

const APP = 'wxcallback00000001';
const NO_CALLBACK = 'wxcallback00000002';
const ACCOUNT = {
  appId: APP,
  appSecret: 'callbacksecret00000000000000001',
  token: 'cbtoken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  messageMode: 'compatible' as const,
  tokenEndpoint: 'stable' as const,
};
const TARGET: PushTarget = { appId: APP, token: ACCOUNT.token, encodingAESKey: ACCOUNT.encodingAESKey };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

@Injectable()
class Handlers {
  readonly calls: string[] = [];

  @OnWechatMessage('text')
  echo(message: Record<string, unknown>): string {
    this.calls.push(`echo:${String(message.MsgId)}`);
    return `echo: ${String(message.Content)}`;
  }

  @OnWechatMessage('text', { content: /^slow/ })
  async slow(message: Record<string, unknown>): Promise<unknown> {
    this.calls.push(`slow:${String(message.MsgId)}`);
    await sleep(600);
    return text(`late ${String(message.Content)}`);
  }

  @OnWechatMessage('text', { content: /^boom/ })
  boom(message: Record<string, unknown>): never {
    this.calls.push(`boom:${String(message.MsgId)}`);
    throw new Error('handler exploded');
  }

  @OnWechatMessage('text', { content: 'context' })
  async context(_message: Record<string, unknown>, context: WechatCallbackContext): Promise<string> {
    await sleep(5);
    const current = currentWechatContext();
    return `${current === context} ${current?.appId} ${current?.openId} ${current?.encrypted}`;
  }

  @OnWechatEvent('subscribe')
  welcome(): unknown {
    this.calls.push('subscribe');
    return news([{ title: 'Welcome', url: 'https://example.com' }]);
  }
}

describe('WechatCallbackDispatcher', () => {
  let bed: CallbackTestbed;
  let handlers: Handlers;

  beforeAll(async () => {
    bed = await startCallbackTestbed({
      accounts: [ACCOUNT],
      providers: [Handlers],
      callback: { handlerTimeoutMs: 300 },
    });
    handlers = bed.moduleRef.get(Handlers);
  });

  afterAll(async () => {
    await bed.close();
  });

  function handle(xml: string, encrypt = false): Promise<string> {
    const push = signPush({ ...TARGET, encrypt }, xml);
    return bed.dispatcher.handle(bed.verifier.verifyPush(APP, push.query, push.body));
  }

  it('discovers every decorated method', () => {
    const names = bed.moduleRef
      .get(WechatCallbackRouter)
      .list()
      .map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Handlers.echo',
        'Handlers.slow',
        'Handlers.boom',
        'Handlers.context',
        'Handlers.welcome',
      ]),
    );
  });

  it('replies with XML addressed back to the sender', async () => {
    const body = await handle(
      pushXml({ text: 'hi', msgId: '1001', fromUser: 'o_user', toUser: 'gh_account' }),
    );
    expect(body).toContain(
      '<ToUserName><![CDATA[o_user]]></ToUserName><FromUserName><![CDATA[gh_account]]></FromUserName>',
    );
    expect(body).toContain('<Content><![CDATA[echo: hi]]></Content>');
  });

  it("runs the handler once for WeChat's retries and answers them all identically", async () => {
    const xml = pushXml({ text: 'again', msgId: '1002' });
    const bodies = await Promise.all([handle(xml), handle(xml), handle(xml), handle(xml)]);
    expect(new Set(bodies).size).toBe(1);
    expect(await handle(xml)).toBe(bodies[0]);
    expect(handlers.calls.filter((c) => c === 'echo:1002')).toHaveLength(1);
  });

  it('de-duplicates events on sender + CreateTime', async () => {
    const xml = pushXml({ event: 'subscribe', fromUser: 'o_new', createTime: 1_700_000_000 });
    const before = handlers.calls.filter((c) => c === 'subscribe').length;
    const [a, b] = await Promise.all([handle(xml), handle(xml)]);
    expect(a).toBe(b);
    expect(a).toContain('<ArticleCount>1</ArticleCount>');
    expect(handlers.calls.filter((c) => c === 'subscribe').length - before).toBe(1);
  });

  it('answers success when a handler throws, and lets the retry run it again', async () => {
    const xml = pushXml({ text: 'boom now', msgId: '1003' });
    expect(await handle(xml)).toBe(SUCCESS);
    expect(await handle(xml)).toBe(SUCCESS);
    expect(handlers.calls.filter((c) => c === 'boom:1003')).toHaveLength(2);
  });

  it('answers success within the budget and delivers a slow reply through the customer-service API', async () => {
    const started = Date.now();
    const body = await handle(pushXml({ text: 'slow one', msgId: '1004', fromUser: 'o_patient' }));
    expect(body).toBe(SUCCESS);
    expect(Date.now() - started).toBeLessThan(450);
    const deadline = Date.now() + 2000;
    while (bed.sim.customMessages().length === 0 && Date.now() < deadline) await sleep(50);
    expect(bed.sim.customMessages()).toEqual([
      expect.objectContaining({
        appId: APP,
        body: { touser: 'o_patient', msgtype: 'text', text: { content: 'late slow one' } },
      }),
    ]);
    // a retry while the slow handler is still remembered gets the same answer and does not run it again
    expect(await handle(pushXml({ text: 'slow one', msgId: '1004', fromUser: 'o_patient' }))).toBe(SUCCESS);
    expect(handlers.calls.filter((c) => c === 'slow:1004')).toHaveLength(1);
  });

  it('encrypts the reply of an encrypted push', async () => {
    const body = await handle(pushXml({ text: 'secret', msgId: '1005' }), true);
    expect(body).toMatch(/^<xml><Encrypt><!\[CDATA\[/);
    expect(openReply(TARGET, body)).toContain('<Content><![CDATA[echo: secret]]></Content>');
  });

  it('gives handlers their context, also through AsyncLocalStorage', async () => {
    const body = await handle(pushXml({ text: 'context', msgId: '1006', fromUser: 'o_ctx' }), true);
    expect(openReply(TARGET, body)).toContain(`<Content><![CDATA[true ${APP} o_ctx true]]></Content>`);
  });
});

describe('WechatCallbackDispatcher with custom de-duplication keys', () => {
  @Injectable()
  class Locations {
    readonly calls: string[] = [];

    @OnWechatEvent('LOCATION')
    location(message: Record<string, unknown>): void {
      this.calls.push(String(message.Latitude));
    }

    @OnWechatMessage('text')
    echo(message: Record<string, unknown>): string {
      this.calls.push(`text:${String(message.MsgId)}`);
      return 'ok';
    }
  }

  it('uses the key function of a type, and none at all when it returns null', async () => {
    const bed = await startCallbackTestbed({
      accounts: [ACCOUNT],
      providers: [Locations],
      // one LOCATION report per user is enough; text messages are never de-duplicated
      callback: { dedupeKeys: { LOCATION: (m) => `loc:${String(m.FromUserName)}`, text: () => null } },
    });
    try {
      const handle = (xml: string): Promise<string> => {
        const push = signPush(TARGET, xml);
        return bed.dispatcher.handle(bed.verifier.verifyPush(APP, push.query, push.body));
      };
      const location = (createTime: number, latitude: string): string =>
        `<xml><ToUserName>gh_a</ToUserName><FromUserName>o_walker</FromUserName><CreateTime>${createTime}</CreateTime>` +
        `<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>${latitude}</Latitude><Longitude>121.4</Longitude></xml>`;
      await handle(location(1_700_000_000, '31.20'));
      await handle(location(1_700_000_060, '31.21')); // another CreateTime, same user: the custom key says duplicate
      const text = pushXml({ text: 'again', msgId: '2001' });
      await handle(text);
      await handle(text); // null key: no de-duplication
      const calls = bed.moduleRef.get(Locations).calls;
      expect(calls.filter((c) => c.startsWith('31.'))).toEqual(['31.20']);
      expect(calls.filter((c) => c === 'text:2001')).toHaveLength(2);
    } finally {
      await bed.close();
    }
  });
});

describe('WechatCallbackExplorer', () => {
  // discovery alone: nothing is called
  const NOWHERE = 'http://127.0.0.1:9';

  it('refuses to boot when a handler names an account without a callback token', async () => {
    @Injectable()
    class Orphan {
      @OnWechatMessage('text', { appId: NO_CALLBACK })
      handle(): void {}
    }
    const moduleRef = await compileCallbackModule({
      accounts: [{ ...ACCOUNT, appId: NO_CALLBACK, token: undefined, messageMode: 'plain' }],
      apiBaseUrl: NOWHERE,
      providers: [Orphan],
    });
    const failure = await moduleRef.init().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String(failure)).toMatch(
      /Orphan\.handle handles account wxcallback00000002, which has no callback token/,
    );
  });

  it('skips request-scoped handlers', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @OnWechatMessage('text')
      handle(): void {}
    }
    const moduleRef = await compileCallbackModule({
      accounts: [ACCOUNT],
      apiBaseUrl: NOWHERE,
      providers: [PerRequest],
    });
    await moduleRef.init();
    expect(moduleRef.get(WechatCallbackRouter).list()).toHaveLength(0);
    await moduleRef.close();
  });
});
