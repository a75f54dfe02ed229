import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  openJsonReply,
  openReply,
  pushJson,
  pushXml,
  signJsonPush,
  signPush,
  type SignedJsonPush,
  type SignedPush,
} from '../src/sandbox/push-builder';
import { sha1Signature, WechatCrypto } from '../src/wechat-callback/wechat-crypto';
import { getJson } from './support/http';
import { freePort } from './support/free-port';
import { type ChildHandle, spawnNode, startSimulator } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';
import {
  customMessages,
  postPush,
  type CallbackAccount,
  type CustomMessage,
  type PushAnswer,
} from './support/callback-e2e';

/*
 * Mini Program pushes end to end: two host processes (test/fixtures/mini-program-host.js, decorated handlers on the
 * built library) sharing one redis-server, the WeChat simulator in its own process for the customer-service sends.
 * The handlers append one JSON line per execution (`{pid, appId, format, raw, message}`) to HANDLER_LOG.
 */

type Hub = ChildHandle & { url: string };
type Query = Record<string, string>;
type Answer = PushAnswer;

interface Execution {
  pid: number;
  appId: string;
  format: 'xml' | 'json';
  raw: string;
  message: Record<string, unknown>;
}

const JSON_PLAIN: CallbackAccount = {
  appId: 'wxmpjsonplain00001',
  appSecret: 'mpjsonplainsecret0000001',
  token: 'mpJsonPlainToken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  messageMode: 'plain',
  kind: 'miniProgram',
  messageFormat: 'json',
};
const JSON_SAFE: CallbackAccount = {
  appId: 'wxmpjsonsafe000001',
  appSecret: 'mpjsonsafesecret00000001',
  token: 'mpJsonSafeToken',
  encodingAESKey: '0123456789abcdefghijABCDEFGHIJklmnopqrstKLM',
  messageMode: 'safe',
  kind: 'miniProgram',
  messageFormat: 'json',
};
const JSON_COMPAT: CallbackAccount = {
  appId: 'wxmpjsoncompat0001',
  appSecret: 'mpjsoncompatsecret000001',
  token: 'mpJsonCompatToken',
  encodingAESKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut',
  messageMode: 'compatible',
  kind: 'miniProgram',
  messageFormat: 'json',
};
/** A Mini Program left at the default data format, XML: the other half of the equivalence. */
const XML_PLAIN: CallbackAccount = {
  appId: 'wxmpxmlplain000001',
  appSecret: 'mpxmlplainsecret00000001',
  token: 'mpXmlPlainToken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  messageMode: 'plain',
  kind: 'miniProgram',
  messageFormat: 'xml',
};
const ACCOUNTS = [JSON_PLAIN, JSON_SAFE, JSON_COMPAT, XML_PLAIN];
const OTHER_APP_ID = 'wxmpother000000001';
const GH = 'gh_mptest00000001';

const now = (): number => Math.floor(Date.now() / 1000);
let sequence = 0;
const nonce = (): string => String(100_000 + (sequence++ % 900_000));
/** A 19-digit id beyond 2^53, unique across the file. */
const msgId = (): string =>
  String(7_300_000_000_000_000_000n + BigInt(Date.now()) * 1000n + BigInt(sequence++ % 1000));
const openId = (label: string): string => `o_${label}_${sequence++}`;

let redis: RedisServerHandle;
let sim: ChildHandle & { url: string };
let hubA: Hub;
let hubB: Hub;
let logDir: string;
let handlerLog: string;

async function startHost(env: Record<string, string>, name: string): Promise<Hub> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const handle = await spawnNode('test/fixtures/mini-program-host.js', {
    name,
    env: { ...env, PORT: String(port) },
    timeoutMs: 60_000,
    probe: async () => (await fetch(`${url}/health`)).status === 200,
    probeIntervalMs: 100,
  });
  return { ...handle, url };
}

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'wxhub-mp-push-e2e-'));
  handlerLog = join(logDir, 'handlers.log');
  writeFileSync(handlerLog, '');
  [redis, sim] = await Promise.all([
    startRedis(),
    startSimulator({
      SANDBOX_APPS: JSON.stringify(
        ACCOUNTS.map(({ appId, appSecret, kind }) => ({ appId, appSecret, kind })),
      ),
    }),
  ]);
  const env = {
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    WECHAT_ACCOUNTS: JSON.stringify(ACCOUNTS),
    WECHAT_API_BASE_URL: sim.url,
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    HANDLER_LOG: handlerLog,
  };
  [hubA, hubB] = await Promise.all([startHost(env, 'mp-host-a'), startHost(env, 'mp-host-b')]);
});

afterAll(() => {
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// helpers

function executions(): Execution[] {
  return readFileSync(handlerLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Execution);
}

function executionsFrom(user: string): Execution[] {
  return executions().filter((e) => e.message.FromUserName === user);
}

function post(hub: Hub, appId: string, query: Query, body: string, contentType: string): Promise<Answer> {
  return postPush(hub.url, appId, query, body, contentType);
}

function jsonPush(
  account: CallbackAccount,
  json: string,
  options: { compatible?: boolean } = {},
): SignedJsonPush {
  return signJsonPush(
    { ...account, encrypt: account.messageMode !== 'plain', compatible: options.compatible, nonce: nonce() },
    json,
  );
}

function xmlPush(account: CallbackAccount, xml: string): SignedPush {
  return signPush({ ...account, encrypt: account.messageMode === 'safe', nonce: nonce() }, xml);
}

function deliverJson(hub: Hub, account: CallbackAccount, signed: SignedJsonPush): Promise<Answer> {
  return post(hub, account.appId, signed.query, signed.body, 'application/json');
}

function deliverXml(hub: Hub, account: CallbackAccount, signed: SignedPush): Promise<Answer> {
  return post(hub, account.appId, signed.query, signed.body, 'text/xml');
}

function customMessagesTo(user: string, atLeast: number): Promise<CustomMessage[]> {
  return customMessages(sim.url, (m) => m.body.touser === user, atLeast);
}

/** One message in both formats, as WeChat writes each (JSON numbers bare, XML text in CDATA). */
interface Pair {
  name: string;
  json: (user: string, createTime: number, id: string) => string;
  xml: (user: string, createTime: number, id: string) => string;
}

const head = (user: string, createTime: number): string =>
  `"ToUserName":"${GH}","FromUserName":"${user}","CreateTime":${createTime}`;
const xmlHead = (user: string, createTime: number): string =>
  `<ToUserName><![CDATA[${GH}]]></ToUserName><FromUserName><![CDATA[${user}]]></FromUserName><CreateTime>${createTime}</CreateTime>`;

const PAIRS: Pair[] = [
  {
    name: 'a text message with a 19-digit MsgId',
    json: (u, t, id) => `{${head(u, t)},"MsgType":"text","Content":"hello \\u4f60\\u597d <&>","MsgId":${id}}`,
    xml: (u, t, id) =>
      `<xml>${xmlHead(u, t)}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello 你好 <&>]]></Content><MsgId>${id}</MsgId></xml>`,
  },
  {
    name: 'an image message',
    json: (u, t, id) =>
      `{${head(u, t)},"MsgType":"image","PicUrl":"https://example.com/p.png","MediaId":"MEDIA_1","MsgId":"${id}"}`,
    xml: (u, t, id) =>
      `<xml>${xmlHead(u, t)}<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[https://example.com/p.png]]></PicUrl><MediaId><![CDATA[MEDIA_1]]></MediaId><MsgId>${id}</MsgId></xml>`,
  },
  {
    name: 'a miniprogrampage card',
    json: (u, t, id) =>
      `{${head(u, t)},"MsgType":"miniprogrampage","MsgId":${id},"Title":"Card","AppId":"wxcardapp0000001","PagePath":"pages/a?x=1","ThumbUrl":"https://example.com/t.png","ThumbMediaId":"THUMB_1"}`,
    xml: (u, t, id) =>
      `<xml>${xmlHead(u, t)}<MsgType><![CDATA[miniprogrampage]]></MsgType><MsgId>${id}</MsgId><Title><![CDATA[Card]]></Title><AppId><![CDATA[wxcardapp0000001]]></AppId><PagePath><![CDATA[pages/a?x=1]]></PagePath><ThumbUrl><![CDATA[https://example.com/t.png]]></ThumbUrl><ThumbMediaId><![CDATA[THUMB_1]]></ThumbMediaId></xml>`,
  },
  {
    name: 'a subscribe-message pop-up event with two entries (top-level List in JSON)',
    json: (u, t) =>
      `{${head(u, t)},"MsgType":"event","Event":"subscribe_msg_popup_event","List":[{"TemplateId":"TPL_A","SubscribeStatusString":"accept","PopupScene":0},{"TemplateId":"TPL_B","SubscribeStatusString":"reject","PopupScene":0}]}`,
    xml: (u, t) =>
      `<xml>${xmlHead(u, t)}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List><TemplateId><![CDATA[TPL_A]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List><List><TemplateId><![CDATA[TPL_B]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent></xml>`,
  },
];

// ---------------------------------------------------------------------------------------------------------------

describe('the same messages as XML and as JSON', () => {
  it.each([
    ['plain', JSON_PLAIN],
    ['safe', JSON_SAFE],
    ['compatible', JSON_COMPAT],
  ] as const)(
    'JSON in %s mode gives handlers deep-equal messages to XML, every value a string, 64-bit ids exact',
    async (_mode, jsonAccount) => {
      for (const pair of PAIRS) {
        const createTime = now();
        const id = msgId();
        const xmlUser = openId('eqx');
        const jsonUser = openId('eqj');
        const xmlAnswer = await deliverXml(
          hubA,
          XML_PLAIN,
          xmlPush(XML_PLAIN, pair.xml(xmlUser, createTime, id)),
        );
        const json = pair.json(jsonUser, createTime, id);
        const jsonAnswer = await deliverJson(hubB, jsonAccount, jsonPush(jsonAccount, json));
        expect({ pair: pair.name, xml: xmlAnswer.status, json: jsonAnswer.status }).toEqual({
          pair: pair.name,
          xml: 200,
          json: 200,
        });
        const [fromXml] = executionsFrom(xmlUser);
        const [fromJson] = executionsFrom(jsonUser);
        expect(fromXml).toBeDefined();
        expect(fromJson).toBeDefined();
        expect(fromJson!.message).toEqual({ ...fromXml!.message, FromUserName: jsonUser });
        expect(fromJson!.format).toBe('json');
        expect(fromJson!.raw).toBe(json);
        expect(fromXml!.format).toBe('xml');
        if (fromJson!.message.MsgId !== undefined) expect(fromJson!.message.MsgId).toBe(id);
        const leaves = JSON.stringify(fromJson!.message, (_key, value: unknown) => {
          if (value !== null && typeof value === 'object') return value;
          expect(typeof value).toBe('string');
          return value;
        });
        expect(leaves).not.toContain('e+');
      }
    },
  );
});

describe('replies', () => {
  it.each([
    ['plain', JSON_PLAIN],
    ['safe', JSON_SAFE],
  ] as const)(
    '%s: a text reply is answered success and delivered through customer-service send',
    async (_mode, account) => {
      const user = openId('cs');
      const signed = jsonPush(
        account,
        pushJson({ toUser: GH, fromUser: user, text: 'hi there', msgId: msgId() }),
      );
      const answer = await deliverJson(hubA, account, signed);
      expect(answer).toMatchObject({ status: 200, body: 'success' });
      const [sent, ...more] = await customMessagesTo(user, 1);
      expect(sent).toMatchObject({
        appId: account.appId,
        body: { touser: user, msgtype: 'text', text: { content: 'echo: hi there' } },
      });
      expect(more).toEqual([]);
    },
  );

  it('an image reply goes out as a Mini Program image; a voice reply (no Mini Program equivalent) is dropped', async () => {
    const user = openId('img');
    const picture = jsonPush(
      JSON_PLAIN,
      pushJson({ toUser: GH, fromUser: user, text: 'picture', msgId: msgId() }),
    );
    expect(await deliverJson(hubB, JSON_PLAIN, picture)).toMatchObject({ status: 200, body: 'success' });
    const voiced = jsonPush(
      JSON_PLAIN,
      pushJson({ toUser: GH, fromUser: user, text: 'voice', msgId: msgId() }),
    );
    expect(await deliverJson(hubB, JSON_PLAIN, voiced)).toMatchObject({ status: 200, body: 'success' });
    const sent = await customMessagesTo(user, 1);
    expect(sent.map((m) => m.body)).toEqual([
      { touser: user, msgtype: 'image', image: { media_id: 'MEDIA_ID_MP_IMAGE' } },
    ]);
    await delay(500);
    expect((await customMessagesTo(user, 0)).map((m) => m.body.msgtype)).toEqual(['image']);
    expect(executionsFrom(user)).toHaveLength(2);
  });

  it('a miniProgramPage reply goes out as a miniprogrampage card, from a JSON and an XML push alike', async () => {
    const card = { title: 'Shop', pagepath: 'pages/shop/index?from=cs', thumb_media_id: 'MEDIA_ID_MP_THUMB' };
    const jsonUser = openId('page');
    const fromJson = jsonPush(
      JSON_SAFE,
      pushJson({ toUser: GH, fromUser: jsonUser, text: 'shop', msgId: msgId() }),
    );
    expect(await deliverJson(hubB, JSON_SAFE, fromJson)).toMatchObject({ status: 200, body: 'success' });
    const xmlUser = openId('pagex');
    const fromXml = xmlPush(
      XML_PLAIN,
      pushXml({ toUser: GH, fromUser: xmlUser, text: 'shop', msgId: msgId() }),
    );
    expect(await deliverXml(hubA, XML_PLAIN, fromXml)).toMatchObject({ status: 200, body: 'success' });
    for (const [user, account] of [
      [jsonUser, JSON_SAFE],
      [xmlUser, XML_PLAIN],
    ] as const) {
      const sent = await customMessagesTo(user, 1);
      expect(sent).toEqual([
        {
          appId: account.appId,
          receivedAt: expect.any(Number),
          body: { touser: user, msgtype: 'miniprogrampage', miniprogrampage: card },
        },
      ]);
    }
  });

  it('plain: transfer_customer_service is answered passively as JSON, with no customer-service send', async () => {
    const user = openId('tr');
    const before = now();
    const answer = await deliverJson(
      hubA,
      JSON_PLAIN,
      jsonPush(JSON_PLAIN, pushJson({ toUser: GH, fromUser: user, text: 'transfer me', msgId: msgId() })),
    );
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^application\/json\b/);
    const reply = JSON.parse(answer.body) as Record<string, unknown>;
    expect(reply).toEqual({
      ToUserName: user,
      FromUserName: GH,
      CreateTime: expect.any(Number),
      MsgType: 'transfer_customer_service',
    });
    expect(reply.CreateTime as number).toBeGreaterThanOrEqual(before);
    await delay(300);
    expect(await customMessagesTo(user, 0)).toEqual([]);
  });

  it('safe: transfer_customer_service is answered in the JSON reply envelope, signed, opening to the JSON', async () => {
    const user = openId('trs');
    const signed = jsonPush(
      JSON_SAFE,
      pushJson({ toUser: GH, fromUser: user, text: 'transfer safe', msgId: msgId() }),
    );
    const answer = await deliverJson(hubB, JSON_SAFE, signed);
    expect(answer.status).toBe(200);
    const envelope = JSON.parse(answer.body) as Record<string, unknown>;
    expect(Object.keys(envelope).sort()).toEqual(['Encrypt', 'MsgSignature', 'Nonce', 'TimeStamp']);
    expect(typeof envelope.TimeStamp).toBe('number');
    expect(envelope.Nonce).toBe(signed.query.nonce);
    const opened = JSON.parse(openJsonReply(JSON_SAFE, answer.body)) as Record<string, unknown>;
    expect(opened).toMatchObject({
      ToUserName: user,
      FromUserName: GH,
      MsgType: 'transfer_customer_service',
    });
  });

  it('an XML-format Mini Program answers the hand-over in XML; its text reply also goes through customer service', async () => {
    const user = openId('trx');
    const transfer = await deliverXml(
      hubA,
      XML_PLAIN,
      xmlPush(XML_PLAIN, PAIRS[0]!.xml(user, now(), msgId()).replace('hello 你好 <&>', 'transfer xml')),
    );
    expect(transfer.status).toBe(200);
    expect(openReply(XML_PLAIN, transfer.body)).toContain(
      '<MsgType><![CDATA[transfer_customer_service]]></MsgType>',
    );
    const echo = await deliverXml(hubA, XML_PLAIN, xmlPush(XML_PLAIN, PAIRS[0]!.xml(user, now(), msgId())));
    expect(echo).toMatchObject({ status: 200, body: 'success' });
    const sent = await customMessagesTo(user, 1);
    expect(sent.map((m) => m.body)).toEqual([
      { touser: user, msgtype: 'text', text: { content: 'echo: hello 你好 <&>' } },
    ]);
  });

  it('an event handed over to customer service is answered success (hand-overs are for user messages only)', async () => {
    const user = openId('enter');
    const json = `{${head(user, now())},"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"btn"}`;
    const answer = await deliverJson(hubA, JSON_SAFE, jsonPush(JSON_SAFE, json));
    expect(answer).toMatchObject({ status: 200, body: 'success' });
    expect(executionsFrom(user).map((e) => e.message.SessionFrom)).toEqual(['btn']);
  });
});

describe("WeChat's retries across two instances", () => {
  it.each([
    ['plain', JSON_PLAIN],
    ['safe', JSON_SAFE],
  ] as const)(
    '%s: the same push to both hubs and again later → one dispatch, one customer-service send',
    async (_mode, account) => {
      const user = openId('retry');
      const id = msgId();
      const signed = jsonPush(
        account,
        pushJson({ toUser: GH, fromUser: user, text: 'pause here', msgId: id }),
      );
      const [first, racing] = await Promise.all([
        deliverJson(hubA, account, signed),
        delay(100).then(() => deliverJson(hubB, account, signed)),
      ]);
      const later = await deliverJson(hubB, account, signed);
      for (const answer of [first, racing, later])
        expect(answer).toMatchObject({ status: 200, body: 'success' });
      expect(executionsFrom(user).map((e) => e.message.MsgId)).toEqual([id]);
      await customMessagesTo(user, 1);
      await delay(500);
      const sent = await customMessagesTo(user, 0);
      expect(sent.map((m) => m.body)).toEqual([
        { touser: user, msgtype: 'text', text: { content: 'paused reply to pause here' } },
      ]);
    },
  );
});

describe('bad input → 4xx, no dispatch, no 5xx', () => {
  const encryptFor = (account: CallbackAccount, appId: string, text: string): string =>
    new WechatCrypto(account.token, account.encodingAESKey, appId).encrypt(text);

  /** A safe-mode body around any Encrypt text, correctly signed. */
  function safeWith(account: CallbackAccount, encrypt: string): { query: Query; body: string } {
    const timestamp = String(now());
    const n = nonce();
    return {
      query: {
        signature: sha1Signature(account.token, timestamp, n),
        timestamp,
        nonce: n,
        openid: 'o_any',
        encrypt_type: 'aes',
        msg_signature: sha1Signature(account.token, timestamp, n, encrypt),
      },
      body: JSON.stringify({ ToUserName: GH, Encrypt: encrypt }),
    };
  }

  const user = 'o_bad_input_user';
  const good = (): string =>
    pushJson({ toUser: GH, fromUser: user, text: 'should never run', msgId: msgId() });
  const deep = `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"text","X":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}`;
  const MALFORMED: [string, string][] = [
    ['truncated JSON', `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"te`],
    ['a trailing comma', `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"text",}`],
    ['deep nesting (20 levels)', deep],
    [
      'a huge number',
      `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"text","MsgId":${'9'.repeat(40)}}`,
    ],
    [
      'duplicate keys',
      `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"text","MsgId":1,"MsgId":2}`,
    ],
    [
      'a __proto__ key',
      `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"text","__proto__":{"x":"1"}}`,
    ],
    [
      'a constructor key',
      `{"ToUserName":"${GH}","FromUserName":"${user}","MsgType":"text","constructor":"x"}`,
    ],
    ['an array at the top', `[{"ToUserName":"${GH}"}]`],
  ];

  const cases: { name: string; send: () => Promise<Answer>; status: number }[] = [
    {
      name: 'XML to a JSON account',
      send: () =>
        deliverXml(
          hubA,
          JSON_PLAIN,
          signPush({ ...JSON_PLAIN, nonce: nonce() }, PAIRS[0]!.xml(user, now(), msgId())),
        ),
      status: 400,
    },
    {
      name: 'XML to a JSON account, sent as application/json',
      send: () => {
        const signed = signPush({ ...JSON_PLAIN, nonce: nonce() }, PAIRS[0]!.xml(user, now(), msgId()));
        return post(hubA, JSON_PLAIN.appId, signed.query, signed.body, 'application/json');
      },
      status: 400,
    },
    {
      name: 'JSON to an XML account',
      send: () => deliverJson(hubB, XML_PLAIN, signJsonPush({ ...XML_PLAIN, nonce: nonce() }, good())),
      status: 400,
    },
    {
      name: 'a wrong signature',
      send: () => deliverJson(hubA, JSON_PLAIN, jsonPush({ ...JSON_PLAIN, token: 'notTheToken' }, good())),
      status: 401,
    },
    {
      name: 'no signature',
      send: () => {
        const { signature: _dropped, ...query } = jsonPush(JSON_PLAIN, good()).query;
        return post(hubA, JSON_PLAIN.appId, query, good(), 'application/json');
      },
      status: 401,
    },
    {
      name: 'a stale timestamp',
      send: () =>
        deliverJson(
          hubB,
          JSON_PLAIN,
          signJsonPush({ ...JSON_PLAIN, timestamp: String(now() - 3600) }, good()),
        ),
      status: 401,
    },
    {
      name: 'a wrong msg_signature (safe)',
      send: () => {
        const signed = jsonPush(JSON_SAFE, good());
        return post(
          hubA,
          JSON_SAFE.appId,
          { ...signed.query, msg_signature: 'f'.repeat(40) },
          signed.body,
          'application/json',
        );
      },
      status: 401,
    },
    {
      name: 'a plaintext push to a safe account',
      send: () => deliverJson(hubB, JSON_SAFE, signJsonPush({ ...JSON_SAFE, nonce: nonce() }, good())),
      status: 400,
    },
    {
      name: 'encrypted for a foreign appid (safe)',
      send: () => {
        const { query, body } = safeWith(JSON_SAFE, encryptFor(JSON_SAFE, OTHER_APP_ID, good()));
        return post(hubA, JSON_SAFE.appId, query, body, 'application/json');
      },
      status: 400,
    },
    {
      name: 'an Encrypt that is not ciphertext (safe)',
      send: () => {
        const { query, body } = safeWith(JSON_SAFE, 'bm90IGEgY2lwaGVydGV4dA==');
        return post(hubB, JSON_SAFE.appId, query, body, 'application/json');
      },
      status: 400,
    },
    ...MALFORMED.flatMap(([name, text]) => [
      {
        name: `${name} (plain)`,
        send: () => deliverJson(hubA, JSON_PLAIN, signJsonPush({ ...JSON_PLAIN, nonce: nonce() }, text)),
        status: 400,
      },
      {
        name: `${name} inside a correctly encrypted and signed push (safe)`,
        send: () => {
          const { query, body } = safeWith(JSON_SAFE, encryptFor(JSON_SAFE, JSON_SAFE.appId, text));
          return post(hubB, JSON_SAFE.appId, query, body, 'application/json');
        },
        status: 400,
      },
    ]),
    {
      name: 'a malformed safe-mode envelope',
      send: () => {
        const { query } = safeWith(JSON_SAFE, 'x');
        return post(hubA, JSON_SAFE.appId, query, '{"ToUserName":"gh_x","Encrypt":', 'application/json');
      },
      status: 400,
    },
  ];

  it('each is refused with its status and a reason that quotes nothing of the body; handlers never run', async () => {
    const before = executions().length;
    const results: { name: string; status: number }[] = [];
    for (const testCase of cases) {
      const answer = await testCase.send();
      results.push({ name: testCase.name, status: answer.status });
      if (answer.status >= 400 && answer.status < 500) {
        const error = JSON.parse(answer.body) as { message?: string };
        expect(typeof error.message).toBe('string');
        expect(error.message).not.toContain('should never run');
      }
    }
    expect(results).toEqual(cases.map(({ name, status }) => ({ name, status })));
    await delay(300);
    expect(executions().length).toBe(before);
    expect(executionsFrom(user)).toEqual([]);
    for (const hub of [hubA, hubB]) {
      const health = await getJson<{ status: string }>(`${hub.url}/health`);
      expect(health.status).toBe(200);
    }
  });

  it('the refusals are counted as callback rejections by reason', async () => {
    const metrics = await (await fetch(`${hubA.url}/metrics`)).text();
    expect(metrics).toMatch(/wxhub_callback_rejected_total\{reason="malformed"\} [1-9]/);
    expect(metrics).toMatch(/wxhub_callback_rejected_total\{reason="signature"\} [1-9]/);
  });
});

describe('the URL check of a JSON account', () => {
  it('answers echostr for a good signature, 401 otherwise', async () => {
    const timestamp = String(now());
    const n = nonce();
    const query = (token: string): string =>
      new URLSearchParams({
        signature: sha1Signature(token, timestamp, n),
        timestamp,
        nonce: n,
        echostr: 'echo_mp_1',
      }).toString();
    const good = await fetch(`${hubA.url}/wechat/${JSON_SAFE.appId}?${query(JSON_SAFE.token)}`);
    expect([good.status, await good.text()]).toEqual([200, 'echo_mp_1']);
    const bad = await fetch(`${hubA.url}/wechat/${JSON_SAFE.appId}?${query('wrong')}`);
    expect(bad.status).toBe(401);
  });
});
