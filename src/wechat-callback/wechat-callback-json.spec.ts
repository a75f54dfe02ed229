import { Body, Controller, Injectable, Module, Post } from '@nestjs/common';
import { AppModule } from '../app.module';
import { startCallbackTestbed, type CallbackTestbed } from '../../test/support/callback-testing';
import { startInProcessApp, type InProcessApp } from '../../test/support/in-process-app';
import {
  openJsonReply,
  pushJson,
  pushXml,
  signJsonPush,
  signPush,
  type JsonPushTarget,
} from '../sandbox/push-builder';
import { MalformedJsonError } from './errors/malformed-json.error';
import { MalformedXmlError } from './errors/malformed-xml.error';
import { OnWechatEvent, OnWechatMessage } from './wechat-callback.decorators';
import { SUCCESS, WechatCallbackDispatcher, responseContentType } from './wechat-callback.dispatcher';
import { WechatCallbackVerifier } from './wechat-callback-verifier';
import type { WechatCallbackContext } from './wechat-context';
import { image, miniProgramPage, music, news, transferToCustomerService } from './wechat-reply';

const GH = 'gh_jsonspec000001';
const MP_JSON = {
  appId: 'wxjsonspec00000001',
  appSecret: 'jsonspecsecret0000000000000001',
  token: 'jsonToken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  messageMode: 'compatible' as const,
  kind: 'miniProgram' as const,
  messageFormat: 'json' as const,
};
const MP_XML = {
  ...MP_JSON,
  appId: 'wxjsonspec00000002',
  messageFormat: 'xml' as const,
};
const OA = {
  ...MP_JSON,
  appId: 'wxjsonspec00000003',
  kind: 'officialAccount' as const,
  messageFormat: 'xml' as const,
};
const target = (account: typeof MP_JSON | typeof MP_XML | typeof OA, encrypt = false): JsonPushTarget => ({
  appId: account.appId,
  token: account.token,
  encodingAESKey: account.encodingAESKey,
  encrypt,
});

@Injectable()
class Handlers {
  readonly seen: { message: Record<string, unknown>; context: WechatCallbackContext }[] = [];

  @OnWechatMessage('text')
  echo(message: Record<string, unknown>, context: WechatCallbackContext): string {
    this.seen.push({ message, context });
    return `echo: ${String(message.Content)}`;
  }

  @OnWechatMessage('text', { content: 'transfer' })
  transfer(): unknown {
    return transferToCustomerService();
  }

  @OnWechatMessage('text', { content: 'card' })
  card(): unknown {
    return news([
      { title: 'T', description: 'D', url: 'https://example.com/a', picUrl: 'https://example.com/p.png' },
    ]);
  }

  @OnWechatMessage('text', { content: 'music' })
  song(): unknown {
    return music({ thumbMediaId: 'THUMB' });
  }

  @OnWechatMessage('text', { content: 'shop' })
  shop(): unknown {
    return miniProgramPage({
      title: 'Shop',
      pagePath: 'pages/shop/index?from=cs',
      thumbMediaId: 'THUMB_SHOP',
    });
  }

  @OnWechatMessage('text', { content: 'slow' })
  async slow(): Promise<unknown> {
    await new Promise((r) => setTimeout(r, 500));
    return image('MEDIA_LATE');
  }

  @OnWechatEvent('user_enter_tempsession')
  enter(): unknown {
    return transferToCustomerService();
  }
}

describe('JSON pushes through the verifier and the dispatcher', () => {
  let bed: CallbackTestbed;
  let verifier: WechatCallbackVerifier;
  let dispatcher: WechatCallbackDispatcher;
  let handlers: Handlers;

  beforeAll(async () => {
    bed = await startCallbackTestbed({
      accounts: [MP_JSON, MP_XML, OA].map((a) => ({ ...a, tokenEndpoint: 'stable' as const })),
      providers: [Handlers],
      callback: { handlerTimeoutMs: 300 },
    });
    ({ verifier, dispatcher } = bed);
    handlers = bed.moduleRef.get(Handlers);
  });

  afterAll(async () => {
    await bed.close();
  });

  async function sentTo(user: string): Promise<Record<string, unknown>[]> {
    for (let i = 0; i < 100; i++) {
      const sent = bed.sim.customMessages().filter((m) => m.body.touser === user);
      if (sent.length > 0) return sent.map((m) => m.body);
      await new Promise((r) => setTimeout(r, 20));
    }
    return [];
  }

  /** Pushes `text` from `user` to the JSON Mini Program, expects `success`, and gives what was sent to `user`. */
  async function repliedTo(user: string, text: string): Promise<Record<string, unknown>[]> {
    const push = signJsonPush(target(MP_JSON), pushJson({ toUser: GH, fromUser: user, text }));
    expect(await dispatcher.handle(verifier.verifyPush(MP_JSON.appId, push.query, push.body))).toBe(SUCCESS);
    return sentTo(user);
  }

  it('the verifier gives the same message for XML and JSON, plain and encrypted', () => {
    const message = {
      toUser: GH,
      fromUser: 'o_same',
      text: 'x',
      createTime: 1_700_000_000,
      msgId: '9007199254740993123',
    };
    const fromXml = signPush(target(MP_XML), pushXml(message));
    const xml = verifier.verifyPush(MP_XML.appId, fromXml.query, fromXml.body);
    for (const encrypt of [false, true]) {
      const fromJson = signJsonPush(target(MP_JSON, encrypt), pushJson(message));
      const json = verifier.verifyPush(MP_JSON.appId, fromJson.query, fromJson.body);
      expect(json.message).toEqual(xml.message);
      expect(json.message.MsgId).toBe('9007199254740993123');
      expect({ format: json.format, encrypted: json.encrypted, raw: json.raw }).toEqual({
        format: 'json',
        encrypted: encrypt,
        raw: fromJson.json,
      });
    }
    expect(xml.format).toBe('xml');
  });

  it('a push in the wrong format for the account is refused with a reason', () => {
    const xmlPush = signPush(target(MP_JSON), pushXml({ text: 'x' }));
    expect(() => verifier.verifyPush(MP_JSON.appId, xmlPush.query, xmlPush.body)).toThrow(MalformedJsonError);
    expect(() => verifier.verifyPush(MP_JSON.appId, xmlPush.query, xmlPush.body)).toThrow(/pushes JSON/);
    const jsonPush = signJsonPush(target(OA), pushJson({ text: 'x' }));
    expect(() => verifier.verifyPush(OA.appId, jsonPush.query, jsonPush.body)).toThrow(MalformedXmlError);
    expect(() => verifier.verifyPush(OA.appId, jsonPush.query, jsonPush.body)).toThrow(/pushes XML/);
    expect(() => verifier.verifyRequest(MP_JSON.appId, jsonPush.query, { a: 1 }, 'application/json')).toThrow(
      MalformedJsonError,
    );
  });

  it('a Mini Program text reply is answered success and sent as a customer-service text', async () => {
    const push = signJsonPush(target(MP_JSON), pushJson({ toUser: GH, fromUser: 'o_mp_text', text: 'hi' }));
    const body = await dispatcher.handle(verifier.verifyPush(MP_JSON.appId, push.query, push.body));
    expect(body).toBe(SUCCESS);
    expect(await sentTo('o_mp_text')).toEqual([
      { touser: 'o_mp_text', msgtype: 'text', text: { content: 'echo: hi' } },
    ]);
    const seen = handlers.seen.find((s) => s.message.FromUserName === 'o_mp_text');
    expect(seen?.context).toMatchObject({ format: 'json', raw: push.json, rawXml: '' });
  });

  it('a reply past the budget is answered success and still goes out as a Mini Program message', async () => {
    expect(await repliedTo('o_mp_slow', 'slow')).toEqual([
      { touser: 'o_mp_slow', msgtype: 'image', image: { media_id: 'MEDIA_LATE' } },
    ]);
  });

  it('a one-article news reply goes out as a link card', async () => {
    expect(await repliedTo('o_mp_card', 'card')).toEqual([
      {
        touser: 'o_mp_card',
        msgtype: 'link',
        link: {
          title: 'T',
          description: 'D',
          url: 'https://example.com/a',
          thumb_url: 'https://example.com/p.png',
        },
      },
    ]);
  });

  it('a Mini Program card reply is answered success and sent as a miniprogrampage message', async () => {
    expect(await repliedTo('o_mp_shop', 'shop')).toEqual([
      {
        touser: 'o_mp_shop',
        msgtype: 'miniprogrampage',
        miniprogrampage: {
          title: 'Shop',
          pagepath: 'pages/shop/index?from=cs',
          thumb_media_id: 'THUMB_SHOP',
        },
      },
    ]);
  });

  it("a Mini Program card reply to an Official Account's push is answered success and dropped with a warning", async () => {
    const warn = jest.fn();
    (dispatcher as unknown as { logger: { warn: (m: string) => void } }).logger.warn = warn;
    const push = signPush(target(OA), pushXml({ toUser: GH, fromUser: 'o_oa_shop', text: 'shop' }));
    expect(await dispatcher.handle(verifier.verifyPush(OA.appId, push.query, push.body))).toBe(SUCCESS);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/miniprogrampage reply to an Official Account.*dropped/),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(bed.sim.customMessages().filter((m) => m.body.touser === 'o_oa_shop')).toEqual([]);
  });

  it('a reply with no Mini Program equivalent is dropped with a warning naming the type', async () => {
    const warn = jest.fn();
    (dispatcher as unknown as { logger: { warn: (m: string) => void } }).logger.warn = warn;
    const push = signJsonPush(
      target(MP_JSON),
      pushJson({ toUser: GH, fromUser: 'o_mp_music', text: 'music' }),
    );
    expect(await dispatcher.handle(verifier.verifyPush(MP_JSON.appId, push.query, push.body))).toBe(SUCCESS);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/music reply .*Mini Program.*dropped/));
    await new Promise((r) => setTimeout(r, 100));
    expect(bed.sim.customMessages().filter((m) => m.body.touser === 'o_mp_music')).toEqual([]);
  });

  it('transfer_customer_service is answered passively: JSON for a JSON push (enveloped when encrypted), XML for XML', async () => {
    const plain = signJsonPush(target(MP_JSON), pushJson({ toUser: GH, fromUser: 'o_tr', text: 'transfer' }));
    const answer = await dispatcher.handle(verifier.verifyPush(MP_JSON.appId, plain.query, plain.body));
    expect(JSON.parse(answer)).toEqual({
      ToUserName: 'o_tr',
      FromUserName: GH,
      CreateTime: expect.any(Number),
      MsgType: 'transfer_customer_service',
    });
    expect(responseContentType(answer)).toBe('application/json; charset=utf-8');

    const safe = signJsonPush(
      target(MP_JSON, true),
      pushJson({ toUser: GH, fromUser: 'o_trs', text: 'transfer' }),
    );
    const enveloped = await dispatcher.handle(verifier.verifyPush(MP_JSON.appId, safe.query, safe.body));
    expect(JSON.parse(openJsonReply(target(MP_JSON), enveloped))).toMatchObject({
      ToUserName: 'o_trs',
      MsgType: 'transfer_customer_service',
    });

    const xml = signPush(target(MP_XML), pushXml({ toUser: GH, fromUser: 'o_trx', text: 'transfer' }));
    const xmlAnswer = await dispatcher.handle(verifier.verifyPush(MP_XML.appId, xml.query, xml.body));
    expect(xmlAnswer).toContain('<MsgType><![CDATA[transfer_customer_service]]></MsgType>');
  });

  it('an event handed over to customer service is answered success', async () => {
    const push = signJsonPush(
      target(MP_JSON),
      `{"ToUserName":"${GH}","FromUserName":"o_ev","CreateTime":1700000000,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"x"}`,
    );
    expect(await dispatcher.handle(verifier.verifyPush(MP_JSON.appId, push.query, push.body))).toBe(SUCCESS);
  });

  it("an Official Account's replies stay passive XML", async () => {
    const push = signPush(target(OA), pushXml({ toUser: GH, fromUser: 'o_oa', text: 'hello' }));
    const answer = await dispatcher.handle(verifier.verifyPush(OA.appId, push.query, push.body));
    expect(answer).toContain('<Content><![CDATA[echo: hello]]></Content>');
  });
});

@Controller('json-echo')
class JsonEchoController {
  @Post()
  echo(@Body() body: unknown): unknown {
    return { type: typeof body, body };
  }
}

@Module({ imports: [AppModule], controllers: [JsonEchoController], providers: [Handlers] })
class HostModule {}

describe('createApp: JSON stays raw on the push route only', () => {
  let running: InProcessApp;

  beforeAll(async () => {
    running = await startInProcessApp(HostModule, {
      WECHAT_ACCOUNTS: JSON.stringify([{ ...MP_JSON, messageMode: 'plain' }]),
      WECHAT_SANDBOX: 'false',
      WECHAT_API_BASE_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'fatal',
    });
  });

  afterAll(async () => {
    await running?.close();
  });

  const postJson = (path: string, body: string): Promise<Response> =>
    fetch(running.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('a JSON push (a 19-digit MsgId in it) is read raw and answered on the push route', async () => {
    const push = signJsonPush(
      { ...target(MP_JSON), encrypt: false },
      pushJson({ toUser: GH, fromUser: 'o_app', text: 'transfer', msgId: '9223372036854775807' }),
    );
    const response = await postJson(
      `/wechat/${MP_JSON.appId}?${new URLSearchParams(push.query).toString()}`,
      push.body,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(await response.text())).toMatchObject({
      MsgType: 'transfer_customer_service',
      ToUserName: 'o_app',
    });
  });

  it('other routes parse JSON as before: an object, and a __proto__ key refused with 400', async () => {
    const parsed = await postJson('/json-echo', '{"a":1,"n":9223372036854775807}');
    // JSON.parse rounds a 19-digit number there, as it always has
    expect(await parsed.json()).toEqual({ type: 'object', body: { a: 1, n: 2 ** 63 } });
    const poisoned = await postJson('/json-echo', '{"__proto__":{"x":1}}');
    expect(poisoned.status).toBe(400);
  });
});
