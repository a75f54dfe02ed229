import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openReply, pushXml, signPush, type PushMessage, type SignedPush } from '../src/sandbox/push-builder';
import { sha1Signature, WechatCrypto } from '../src/wechat-callback/wechat-crypto';
import { reportFault } from './support/fault-report';
import { getJson } from './support/http';
import { type ChildHandle, startCallbackHost, startSimulator } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';
import { customMessages, postPush, type CallbackAccount, type PushAnswer } from './support/callback-e2e';

/*
 * The callback plane end to end: two host processes (test/fixtures/callback-host.js, a plain-JS app on the
 * built library with decorated handlers) sharing one redis-server, and the WeChat simulator in its own process
 * for late replies through the customer-service API. The handlers append `<pid> <MsgId|Event> <FromUserName>`
 * to HANDLER_LOG, which is how these tests count executions across processes.
 */

type Hub = ChildHandle & { url: string };
type Simulator = ChildHandle & { url: string };
type Query = Record<string, string>;
type Answer = PushAnswer;

const PLAIN: CallbackAccount = {
  appId: 'wxcbplain000000001',
  appSecret: 'cbplainsecret00000000001',
  token: 'cbPlainToken1',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  messageMode: 'plain',
};
const COMPAT: CallbackAccount = {
  appId: 'wxcbcompat00000001',
  appSecret: 'cbcompatsecret0000000001',
  token: 'cbCompatToken2',
  encodingAESKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut',
  messageMode: 'compatible',
};
const SAFE: CallbackAccount = {
  appId: 'wxcbsafe0000000001',
  appSecret: 'cbsafesecret000000000001',
  token: 'cbSafeToken3',
  encodingAESKey: '0123456789abcdefghijABCDEFGHIJklmnopqrstKLM',
  messageMode: 'safe',
};
const ACCOUNTS = [PLAIN, COMPAT, SAFE];
/** Not configured anywhere: the target of "encrypted for another AppID" and of the 404 case. */
const OTHER_APP_ID = 'wxcbother000000001';
const UNKNOWN_APP_ID = 'wxcbunknown0000001';
const GH = 'gh_cbtest00000001';

const now = (): string => String(Math.floor(Date.now() / 1000));
let sequence = 0;
const nonce = (): string => String(100_000 + (sequence++ % 900_000));
/** Unique across the file and across runs (Redis is fresh anyway). */
const msgId = (): string => String(BigInt(Date.now()) * 1000n + BigInt(sequence++ % 1000));
const openId = (label: string): string => `o_${label}_${sequence++}`;

let redis: RedisServerHandle;
let sim: Simulator;
let hubA: Hub;
let hubB: Hub;
let logDir: string;
let handlerLog: string;

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'wxhub-callback-e2e-'));
  handlerLog = join(logDir, 'handlers.log');
  writeFileSync(handlerLog, '');
  [redis, sim] = await Promise.all([
    startRedis(),
    startSimulator({
      SANDBOX_APPS: JSON.stringify(ACCOUNTS.map(({ appId, appSecret }) => ({ appId, appSecret }))),
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
  [hubA, hubB] = await Promise.all([
    startCallbackHost(env, { name: 'callback-host-a' }),
    startCallbackHost(env, { name: 'callback-host-b' }),
  ]);
});

afterAll(() => {
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// helpers

function logLines(): string[] {
  return readFileSync(handlerLog, 'utf8').split('\n').filter(Boolean);
}

/** Handler executions for a MsgId (messages) or an Event name from one sender (events). */
function runs(id: string, fromUser?: string): string[] {
  return logLines().filter((line) => {
    const [, loggedId, loggedFrom] = line.split(' ');
    return loggedId === id && (fromUser === undefined || loggedFrom === fromUser);
  });
}

/** `signature`, `timestamp`, `nonce` (and the encrypted-mode parameters when `encrypt` is given). */
function sign(
  account: CallbackAccount,
  options: { timestamp?: string; nonce?: string; encrypt?: string } = {},
): Query {
  const timestamp = options.timestamp ?? now();
  const n = options.nonce ?? nonce();
  const query: Query = {
    signature: sha1Signature(account.token, timestamp, n),
    timestamp,
    nonce: n,
    openid: 'o_any',
  };
  if (options.encrypt !== undefined) {
    query.encrypt_type = 'aes';
    query.msg_signature = sha1Signature(account.token, timestamp, n, options.encrypt);
  }
  return query;
}

function xmlOf(message: PushMessage): string {
  return pushXml({ toUser: GH, ...message });
}

function push(account: CallbackAccount, message: PushMessage, encrypt = false): SignedPush {
  return signPush({ ...account, encrypt, nonce: nonce() }, xmlOf(message));
}

/** The safe-mode envelope around any `Encrypt` text. */
function envelope(encrypt: string): string {
  return `<xml><ToUserName><![CDATA[${GH}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
}

function encryptOf(body: string): string {
  const value = /<Encrypt><!\[CDATA\[([^\]]*)\]\]><\/Encrypt>/.exec(body)?.[1];
  if (value === undefined) throw new Error(`no Encrypt in ${body.slice(0, 200)}`);
  return value;
}

/** A leaf of reply XML: CDATA text or bare text. */
function field(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))</${name}>`).exec(xml);
  return match ? (match[1] ?? match[2]) : undefined;
}

function post(
  hub: Hub,
  appId: string,
  query: Query,
  body: string | Uint8Array,
  contentType: string | null = 'text/xml',
): Promise<Answer> {
  return postPush(hub.url, appId, query, body, contentType);
}

function deliver(hub: Hub, account: CallbackAccount, signed: SignedPush): Promise<Answer> {
  return post(hub, account.appId, signed.query, signed.body);
}

async function expectHealthy(): Promise<void> {
  for (const hub of [hubA, hubB]) {
    const health = await getJson<{ status: string }>(`${hub.url}/health`);
    expect({ hub: hub.name, status: health.status }).toEqual({ hub: hub.name, status: 200 });
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('URL check (GET /wechat/:appId)', () => {
  it.each(ACCOUNTS.map((a) => [a.messageMode, a] as const))(
    '%s account: a good signature gets echostr verbatim as text/plain, a bad or missing one 401',
    async (_mode, account) => {
      const echostr = `7823645${sequence++}-echo_Str`;
      const url = (query: Query): string =>
        `${hubA.url}/wechat/${account.appId}?${new URLSearchParams({ ...query, echostr }).toString()}`;

      const good = await fetch(url(sign(account)));
      expect(good.status).toBe(200);
      expect(good.headers.get('content-type')).toMatch(/^text\/plain\b/);
      expect(await good.text()).toBe(echostr);

      const wrongToken = await fetch(url(sign({ ...account, token: 'notTheToken' })));
      expect(wrongToken.status).toBe(401);
      expect(await wrongToken.text()).not.toContain(echostr);

      const { signature: _omitted, ...unsigned } = sign(account);
      const missing = await fetch(url(unsigned));
      expect(missing.status).toBe(401);
      expect(await missing.text()).not.toContain(echostr);
    },
  );
});

describe('plain mode', () => {
  it('a text message gets an XML text reply with To/From swapped and the echo content', async () => {
    const user = openId('plain');
    const answer = await deliver(
      hubA,
      PLAIN,
      push(PLAIN, { fromUser: user, text: 'hello plain', msgId: msgId() }),
    );
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^application\/xml\b/);
    expect(answer.body).toMatch(/^<xml>[\s\S]*<\/xml>$/);
    expect(field(answer.body, 'ToUserName')).toBe(user);
    expect(field(answer.body, 'FromUserName')).toBe(GH);
    expect(field(answer.body, 'MsgType')).toBe('text');
    expect(field(answer.body, 'Content')).toBe('echo: hello plain');
    expect(Math.abs(Number(field(answer.body, 'CreateTime')) - Number(now()))).toBeLessThanOrEqual(5);
  });

  it('content "image" gets an image reply (the more specific handler wins over the text echo)', async () => {
    const answer = await deliver(
      hubB,
      PLAIN,
      push(PLAIN, { fromUser: openId('img'), text: 'image', msgId: msgId() }),
    );
    expect(answer.status).toBe(200);
    expect(field(answer.body, 'MsgType')).toBe('image');
    expect(answer.body).toContain('<Image><MediaId><![CDATA[MEDIA_ID_IMAGE_1]]></MediaId></Image>');
  });

  it('subscribe gets a news reply', async () => {
    const user = openId('sub');
    const answer = await deliver(hubA, PLAIN, push(PLAIN, { fromUser: user, event: 'subscribe' }));
    expect(answer.status).toBe(200);
    expect(field(answer.body, 'ToUserName')).toBe(user);
    expect(field(answer.body, 'MsgType')).toBe('news');
    expect(field(answer.body, 'ArticleCount')).toBe('1');
    expect(answer.body).toContain(
      '<Articles><item><Title><![CDATA[Welcome]]></Title><Description><![CDATA[Thanks for following]]></Description>' +
        '<PicUrl><![CDATA[https://example.com/welcome.png]]></PicUrl><Url><![CDATA[https://example.com/welcome]]></Url></item></Articles>',
    );
    expect(runs('subscribe', user)).toHaveLength(1);
  });

  it('a CLICK with a matching EventKey gets a text reply naming the key; another key gets success', async () => {
    const user = openId('click');
    const clicked = await deliver(
      hubB,
      PLAIN,
      push(PLAIN, { fromUser: user, event: 'CLICK', eventKey: 'MENU_TODAY' }),
    );
    expect(clicked.status).toBe(200);
    expect(field(clicked.body, 'MsgType')).toBe('text');
    expect(field(clicked.body, 'Content')).toBe('clicked MENU_TODAY');

    const other = await deliver(
      hubB,
      PLAIN,
      push(PLAIN, { fromUser: user, event: 'CLICK', eventKey: 'NOT_A_MENU', createTime: Number(now()) + 1 }),
    );
    expect(other).toMatchObject({ status: 200, body: 'success' });
    expect(runs('CLICK', user)).toHaveLength(1);
  });

  it('an unknown MsgType and an unknown Event are answered success', async () => {
    const user = openId('unknown');
    const ts = now();
    const unknownType =
      `<xml><ToUserName><![CDATA[${GH}]]></ToUserName><FromUserName><![CDATA[${user}]]></FromUserName>` +
      `<CreateTime>${ts}</CreateTime><MsgType><![CDATA[hologram]]></MsgType><Beam><Color>red</Color></Beam>` +
      `<MsgId>${msgId()}</MsgId></xml>`;
    const unknownEvent =
      `<xml><ToUserName><![CDATA[${GH}]]></ToUserName><FromUserName><![CDATA[${user}]]></FromUserName>` +
      `<CreateTime>${ts}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[future_event]]></Event></xml>`;
    for (const body of [unknownType, unknownEvent]) {
      const answer = await post(hubA, PLAIN.appId, sign(PLAIN), body);
      expect(answer).toMatchObject({ status: 200, body: 'success' });
      expect(answer.contentType).toMatch(/^text\/plain\b/);
    }
  });
});

describe('compatible mode', () => {
  it('a plaintext push gets a plaintext reply', async () => {
    const user = openId('compat');
    const answer = await deliver(
      hubA,
      COMPAT,
      push(COMPAT, { fromUser: user, text: 'plain in compat', msgId: msgId() }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).not.toContain('<Encrypt>');
    expect(field(answer.body, 'ToUserName')).toBe(user);
    expect(field(answer.body, 'Content')).toBe('echo: plain in compat');
  });

  it('an encrypted push (plaintext fields + Encrypt, encrypt_type=aes) gets an encrypted envelope that opens to the reply', async () => {
    const user = openId('compatenc');
    const xml = xmlOf({ fromUser: user, text: 'secret in compat', msgId: msgId() });
    const signed = signPush({ ...COMPAT, encrypt: true, nonce: nonce() }, xml);
    // WeChat's compatible-mode body carries the plaintext fields AND the Encrypt element
    const body = xml.replace('</xml>', `<Encrypt><![CDATA[${encryptOf(signed.body)}]]></Encrypt></xml>`);
    const answer = await post(hubB, COMPAT.appId, signed.query, body);

    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(
      /^<xml><Encrypt><!\[CDATA\[[A-Za-z0-9+/=]+\]\]><\/Encrypt><MsgSignature><!\[CDATA\[[0-9a-f]{40}\]\]><\/MsgSignature><TimeStamp>\d+<\/TimeStamp><Nonce><!\[CDATA\[[^\]]+\]\]><\/Nonce><\/xml>$/,
    );
    expect(field(answer.body, 'TimeStamp')).toBe(signed.query.timestamp);
    expect(field(answer.body, 'Nonce')).toBe(signed.query.nonce);
    const inner = openReply(COMPAT, answer.body);
    expect(field(inner, 'ToUserName')).toBe(user);
    expect(field(inner, 'FromUserName')).toBe(GH);
    expect(field(inner, 'Content')).toBe('echo: secret in compat');
  });
});

describe('safe mode', () => {
  it('an encrypted push gets an encrypted reply', async () => {
    const user = openId('safe');
    const answer = await deliver(
      hubA,
      SAFE,
      push(SAFE, { fromUser: user, text: 'safe hello', msgId: msgId() }, true),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).not.toContain('safe hello');
    const inner = openReply(SAFE, answer.body);
    expect(field(inner, 'ToUserName')).toBe(user);
    expect(field(inner, 'Content')).toBe('echo: safe hello');
  });

  it('a plaintext push is refused with 400 and runs no handler', async () => {
    const id = msgId();
    const answer = await deliver(
      hubB,
      SAFE,
      push(SAFE, { fromUser: openId('safeplain'), text: 'sneaky', msgId: id }),
    );
    expect(answer.status).toBe(400);
    expect(runs(id)).toEqual([]);
  });
});

describe('bad input', () => {
  it('each bad push gets its status, runs no handler, and the hubs stay healthy', async () => {
    const before = logLines().length;
    const user = openId('bad');
    const plainPush = (): SignedPush => push(PLAIN, { fromUser: user, text: 'bad input', msgId: msgId() });
    const safePush = (): SignedPush =>
      push(SAFE, { fromUser: user, text: 'bad input', msgId: msgId() }, true);
    const safeCrypto = new WechatCrypto(SAFE.token, SAFE.encodingAESKey, SAFE.appId);
    const innerXml = (): string => xmlOf({ fromUser: user, text: 'bad input', msgId: msgId() });
    /** A safe-mode push of any Encrypt text, with a msg_signature that is right for it. */
    const safeWith = (encrypt: string): { query: Query; body: string } => ({
      query: sign(SAFE, { encrypt }),
      body: envelope(encrypt),
    });
    const stale = String(Number(now()) - 3600);
    const future = String(Number(now()) + 3600);

    const goodEncrypt = encryptOf(safePush().body);
    const sealed = Buffer.from(goodEncrypt, 'base64');
    // flipping the last byte of the next-to-last block flips the padding byte of the plaintext
    const badPadding = Buffer.from(sealed);
    badPadding[badPadding.length - 17]! ^= 0x40;

    const xxe =
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
      `<xml><ToUserName>&xxe;</ToUserName><FromUserName><![CDATA[${user}]]></FromUserName><CreateTime>${now()}</CreateTime>` +
      `<MsgType><![CDATA[text]]></MsgType><Content>&xxe;</Content><MsgId>${msgId()}</MsgId></xml>`;
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => {
        const prev = i === 0 ? 'lol' : `lol${i}`;
        return `<!ENTITY lol${i + 1} "${`&${prev};`.repeat(10)}">`;
      }).join('') +
      `]><xml><ToUserName>${GH}</ToUserName><FromUserName>${user}</FromUserName><CreateTime>${now()}</CreateTime>` +
      `<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>${msgId()}</MsgId></xml>`;

    const cases: { name: string; send: () => Promise<Answer>; status: number; withinMs?: number }[] = [
      {
        name: 'bad signature',
        send: () => {
          const p = plainPush();
          return post(
            hubA,
            PLAIN.appId,
            { ...p.query, signature: sha1Signature('wrongToken', p.query.timestamp!, p.query.nonce!) },
            p.body,
          );
        },
        status: 401,
      },
      {
        name: 'missing signature',
        send: () => {
          const p = plainPush();
          const { signature: _s, ...query } = p.query;
          return post(hubB, PLAIN.appId, query, p.body);
        },
        status: 401,
      },
      {
        name: 'bad msg_signature',
        send: () => {
          const p = safePush();
          return post(hubA, SAFE.appId, { ...p.query, msg_signature: sha1Signature('x', 'y', 'z') }, p.body);
        },
        status: 401,
      },
      {
        name: 'missing msg_signature',
        send: () => {
          const p = safePush();
          const { msg_signature: _m, ...query } = p.query;
          return post(hubB, SAFE.appId, query, p.body);
        },
        status: 401,
      },
      {
        name: 'stale timestamp (1 h old, correctly signed)',
        send: () => post(hubA, PLAIN.appId, sign(PLAIN, { timestamp: stale }), plainPush().body),
        status: 401,
      },
      {
        name: 'timestamp 1 h in the future (correctly signed)',
        send: () => post(hubB, PLAIN.appId, sign(PLAIN, { timestamp: future }), plainPush().body),
        status: 401,
      },
      {
        name: 'stale timestamp on an encrypted push',
        send: () => {
          const encrypt = safeCrypto.encrypt(innerXml());
          return post(hubA, SAFE.appId, sign(SAFE, { timestamp: stale, encrypt }), envelope(encrypt));
        },
        status: 401,
      },
      {
        name: 'malformed XML',
        send: () =>
          post(
            hubB,
            PLAIN.appId,
            sign(PLAIN),
            `<xml><ToUserName>${GH}</ToUserName><MsgType>text</MsgType><Content>hi</Conte`,
          ),
        status: 400,
      },
      {
        name: 'another root element',
        send: () =>
          post(
            hubA,
            PLAIN.appId,
            sign(PLAIN),
            plainPush()
              .body.replace(/^<xml>/, '<doc>')
              .replace(/<\/xml>$/, '</doc>'),
          ),
        status: 400,
      },
      {
        name: 'truncated Encrypt',
        send: () => {
          const { query, body } = safeWith(goodEncrypt.slice(0, goodEncrypt.length - 7));
          return post(hubB, SAFE.appId, query, body);
        },
        status: 400,
      },
      {
        name: 'Encrypt cut at a block boundary (no padding left)',
        send: () => {
          const { query, body } = safeWith(sealed.subarray(0, sealed.length - 32).toString('base64'));
          return post(hubA, SAFE.appId, query, body);
        },
        status: 400,
      },
      {
        name: 'garbled base64 Encrypt',
        send: () => {
          const { query, body } = safeWith(`${goodEncrypt.slice(0, 20)}!!**$$${goodEncrypt.slice(26)}`);
          return post(hubB, SAFE.appId, query, body);
        },
        status: 400,
      },
      {
        name: 'Encrypt with bad padding',
        send: () => {
          const { query, body } = safeWith(badPadding.toString('base64'));
          return post(hubA, SAFE.appId, query, body);
        },
        status: 400,
      },
      {
        name: 'Encrypt made for another AppID with the right key',
        send: () => {
          const foreign = new WechatCrypto(SAFE.token, SAFE.encodingAESKey, OTHER_APP_ID).encrypt(innerXml());
          const { query, body } = safeWith(foreign);
          return post(hubB, SAFE.appId, query, body);
        },
        status: 400,
      },
      {
        name: 'encrypt_type=aes without an Encrypt element (compatible account)',
        send: () => post(hubA, COMPAT.appId, { ...sign(COMPAT), encrypt_type: 'aes' }, plainPush().body),
        status: 400,
      },
      {
        name: '1 MB body',
        send: () =>
          post(hubB, PLAIN.appId, sign(PLAIN), `<xml><Content>${'A'.repeat(1024 * 1024)}</Content></xml>`),
        status: 413,
      },
      {
        name: 'XXE (DOCTYPE with an external entity), signed',
        send: () => post(hubA, PLAIN.appId, sign(PLAIN), xxe),
        status: 400,
        withinMs: 200,
      },
      {
        name: 'billion laughs, signed',
        send: () => post(hubB, PLAIN.appId, sign(PLAIN), laughs),
        status: 400,
        withinMs: 200,
      },
      {
        name: 'XXE inside a correctly encrypted and signed safe-mode push',
        send: () => {
          const { query, body } = safeWith(safeCrypto.encrypt(xxe));
          return post(hubA, SAFE.appId, query, body);
        },
        status: 400,
        withinMs: 200,
      },
      {
        name: 'garbage inside a correctly encrypted and signed safe-mode push',
        send: () => {
          const { query, body } = safeWith(safeCrypto.encrypt('not xml at all <<<'));
          return post(hubB, SAFE.appId, query, body);
        },
        status: 400,
      },
      {
        name: 'JSON body',
        send: () => {
          const p = plainPush();
          const json = JSON.stringify({
            ToUserName: GH,
            FromUserName: user,
            MsgType: 'text',
            Content: 'json',
            MsgId: msgId(),
          });
          return post(hubA, PLAIN.appId, p.query, json, 'application/json');
        },
        status: 400,
      },
      {
        name: 'unknown appId',
        send: () => post(hubB, UNKNOWN_APP_ID, sign(PLAIN), plainPush().body),
        status: 404,
      },
    ];

    const results: { name: string; status: number; fast: boolean }[] = [];
    for (const testCase of cases) {
      const answer = await testCase.send();
      results.push({
        name: testCase.name,
        status: answer.status,
        fast: answer.ms < (testCase.withinMs ?? 2_000),
      });
      if (testCase.withinMs !== undefined)
        console.log(`${testCase.name}: ${answer.status} in ${answer.ms.toFixed(1)} ms`);
    }
    expect(results).toEqual(cases.map((c) => ({ name: c.name, status: c.status, fast: true })));
    expect(logLines().slice(before)).toEqual([]);
    await expectHealthy();
  });
});

describe('failing handlers', () => {
  it('a handler that throws is answered 200 success, and a retry of the same message runs it again', async () => {
    const id = msgId();
    const xml = xmlOf({ fromUser: openId('boom'), text: 'boom now', msgId: id });
    const first = await post(hubA, PLAIN.appId, sign(PLAIN), xml);
    expect(first).toMatchObject({ status: 200, body: 'success' });
    expect(first.contentType).toMatch(/^text\/plain\b/);
    expect(runs(id)).toHaveLength(1);

    // WeChat's retry, landing on the other instance: the failed claim was released, so it runs again
    const retry = await post(hubB, PLAIN.appId, sign(PLAIN), xml);
    expect(retry).toMatchObject({ status: 200, body: 'success' });
    expect(runs(id)).toHaveLength(2);
  });
});

describe('de-duplication across two hub processes sharing Redis', () => {
  async function deliverFourTimes(account: CallbackAccount, signed: SignedPush): Promise<Answer[]> {
    return Promise.all([hubA, hubA, hubB, hubB].map((hub) => deliver(hub, account, signed)));
  }

  it('a text message delivered 4 times concurrently (2 per hub) runs once; all bodies, and a 5th, are byte-identical', async () => {
    const id = msgId();
    const signed = push(PLAIN, { fromUser: openId('dup'), text: 'only once', msgId: id });
    const answers = await deliverFourTimes(PLAIN, signed);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(field(answers[0]!.body, 'Content')).toBe('echo: only once');
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(runs(id)).toHaveLength(1);

    await delay(1_100); // a re-render would now carry another CreateTime
    const fifth = await deliver(hubB, PLAIN, signed);
    expect(fifth.body).toBe(answers[0]!.body);
    expect(runs(id)).toHaveLength(1);
    reportFault({
      scenario: "WeChat's retries: one push delivered 4× at once across 2 hubs, then a 5th",
      invalidServed: null,
      callerErrors: 0,
      recoverySeconds: null,
      note: 'the handler ran once; all 5 answers byte-identical',
    });
  });

  it('an encrypted safe-mode push delivered 4 times concurrently runs once and gets byte-identical envelopes', async () => {
    const id = msgId();
    const signed = push(SAFE, { fromUser: openId('dupsafe'), text: 'sealed once', msgId: id }, true);
    const answers = await deliverFourTimes(SAFE, signed);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(field(openReply(SAFE, answers[0]!.body), 'Content')).toBe('echo: sealed once');
    expect(runs(id)).toHaveLength(1);

    const fifth = await deliver(hubA, SAFE, signed);
    expect(fifth.body).toBe(answers[0]!.body);
    expect(runs(id)).toHaveLength(1);
  });

  it('the same MsgId on two accounts is two messages', async () => {
    const id = msgId();
    const user = openId('twoaccounts');
    const [plain, compat] = await Promise.all([
      deliver(hubA, PLAIN, push(PLAIN, { fromUser: user, text: 'to plain', msgId: id })),
      deliver(hubB, COMPAT, push(COMPAT, { fromUser: user, text: 'to compat', msgId: id })),
    ]);
    expect(field(plain.body, 'Content')).toBe('echo: to plain');
    expect(field(compat.body, 'Content')).toBe('echo: to compat');
    expect(runs(id)).toHaveLength(2);
  });

  it('events (no MsgId) are de-duplicated on FromUserName + CreateTime', async () => {
    const user = openId('dupevent');
    const createTime = Number(now());
    const xml = xmlOf({ fromUser: user, event: 'subscribe', createTime });
    // each delivery signed afresh (own nonce), as a retry would be: the key is the content, not the request
    const answers = await Promise.all(
      [hubA, hubB, hubA, hubB].map((hub) => post(hub, PLAIN.appId, sign(PLAIN), xml)),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(field(answers[0]!.body, 'MsgType')).toBe('news');
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(runs('subscribe', user)).toHaveLength(1);

    // the same user following again a second later is a new event
    const later = await post(
      hubA,
      PLAIN.appId,
      sign(PLAIN),
      xmlOf({ fromUser: user, event: 'subscribe', createTime: createTime + 1 }),
    );
    expect(field(later.body, 'MsgType')).toBe('news');
    expect(runs('subscribe', user)).toHaveLength(2);
  });
});

describe('slow handlers', () => {
  it('an 8 s handler is answered success within 5 s, its reply goes out through the customer-service API, and a retry does not run it again', async () => {
    const user = openId('slow');
    const id = msgId();
    const xml = xmlOf({ fromUser: user, text: 'slow please', msgId: id });
    const started = performance.now();

    const first = await post(hubA, PLAIN.appId, sign(PLAIN), xml);
    console.log(`slow handler: answered ${JSON.stringify(first.body)} after ${first.ms.toFixed(0)} ms`);
    expect(first).toMatchObject({ status: 200, body: 'success' });
    expect(first.ms).toBeLessThan(5_000);

    // WeChat's retry after its 5-second wait, on the other instance
    await delay(Math.max(0, started + 5_500 - performance.now()));
    const retry = await post(hubB, PLAIN.appId, sign(PLAIN), xml);
    console.log(
      `slow handler: retry at ${(performance.now() - started).toFixed(0)} ms answered ${JSON.stringify(retry.body)} in ${retry.ms.toFixed(0)} ms`,
    );
    expect(retry).toMatchObject({ status: 200, body: 'success' });
    expect(retry.ms).toBeLessThan(500);

    const [delivered] = await customMessages(
      sim.url,
      (m) => m.appId === PLAIN.appId && m.body.touser === user,
      1,
      12_000 - (performance.now() - started),
    );
    const lateAfter = performance.now() - started;
    console.log(`slow handler: customer-service message recorded ${lateAfter.toFixed(0)} ms after the push`);
    expect(delivered?.body).toEqual({
      touser: user,
      msgtype: 'text',
      text: { content: 'slow reply to slow please' },
    });
    expect(lateAfter).toBeLessThan(10_500);
    expect(runs(id)).toHaveLength(1);
    reportFault({
      scenario: 'a handler taking 8 s (WeChat waits 5 s), retried on the other hub',
      invalidServed: null,
      callerErrors: 0,
      recoverySeconds: null,
      note: `answered success in ${(first.ms / 1000).toFixed(1)} s; reply delivered via custom send after ${(lateAfter / 1000).toFixed(1)} s; ran once`,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// fuzz

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzCase {
  kind: string;
  hub: Hub;
  appId: string;
  query: Query;
  body: Uint8Array;
  contentType: string | null;
}

const FUZZ_SEED = 0x5eed_c0de;
const ALNUM = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const FUZZ_COUNT = 2_400;
const FUZZ_CONCURRENCY = 20;

function fuzzCases(seed: number, count: number): FuzzCase[] {
  const rnd = prng(seed);
  const int = (min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
  const alnum = (n: number): string => Array.from({ length: n }, () => pick(ALNUM)).join('');
  const cryptos = new Map(
    ACCOUNTS.map((a) => [a.appId, new WechatCrypto(a.token, a.encodingAESKey, a.appId)]),
  );
  // NOTE: values are drawn from WeChat-like words and random alphanumerics; Object.prototype member names as
  // MsgType/Event are covered by their own test below (they currently answer 500).
  const names = [
    'ToUserName',
    'FromUserName',
    'CreateTime',
    'MsgType',
    'Content',
    'MsgId',
    'Event',
    'EventKey',
    'Encrypt',
    'PicUrl',
    'MediaId',
    'Location_X',
    'item',
    'List',
  ];
  const msgTypes = ['text', 'event', 'image', 'voice', 'video', 'location', 'link', 'shortvideo', ''];
  const events = [
    'subscribe',
    'unsubscribe',
    'CLICK',
    'VIEW',
    'SCAN',
    'LOCATION',
    'TEMPLATESENDJOBFINISH',
    '',
  ];

  const validXml = (): string =>
    rnd() < 0.5
      ? pushXml({
          toUser: GH,
          fromUser: `o_fz_${alnum(8)}`,
          text: `fz ${alnum(int(0, 40))}`,
          msgId: String(int(1, 2 ** 52)),
        })
      : pushXml({
          toUser: GH,
          fromUser: `o_fz_${alnum(8)}`,
          event: pick(events) || 'subscribe',
          eventKey: pick(['MENU_A', 'qrscene_1', alnum(5)]),
        });
  const validEncrypt = (appId: string): string => cryptos.get(appId)!.encrypt(validXml(), bytes(16));
  const value = (): string => {
    const text = pick([
      alnum(int(0, 30)),
      `${int(0, 2 ** 31)}`,
      '<&>"\'',
      ']]>',
      'é中文🙂',
      ' ',
      pick(msgTypes),
      pick(events),
    ]);
    return rnd() < 0.5 && !text.includes(']]>') ? `<![CDATA[${text}]]>` : text.replace(/[<&]/g, '');
  };
  const element = (depth: number): string => {
    const name = rnd() < 0.8 ? pick(names) : `${pick(['x', 'Y', '_'])}${alnum(int(0, 6))}`;
    if (name === 'MsgType') return `<MsgType>${pick(msgTypes)}</MsgType>`;
    if (name === 'Event') return `<Event>${pick(events)}</Event>`;
    if (depth < 3 && rnd() < 0.2)
      return `<${name}>${Array.from({ length: int(0, 4) }, () => element(depth + 1)).join('')}</${name}>`;
    return rnd() < 0.1 ? `<${name}/>` : `<${name}>${value()}</${name}>`;
  };
  const flipBits = (source: Buffer, flips: number): Buffer => {
    const out = Buffer.from(source);
    for (let i = 0; i < flips && out.length > 0; i++) out[int(0, out.length - 1)]! ^= 1 << int(0, 7);
    return out;
  };
  const randomEncrypt = (account: CallbackAccount): string => {
    const appId = account.appId;
    return pick([
      () => bytes(int(1, 8) * 16).toString('base64'),
      () => bytes(int(1, 200)).toString('base64'),
      () => alnum(int(0, 300)),
      () => `${alnum(int(1, 50))}==`,
      () => validEncrypt(appId).slice(0, int(0, 200)),
      () => flipBits(Buffer.from(validEncrypt(appId), 'base64'), int(1, 4)).toString('base64'),
      () =>
        new WechatCrypto('t0k', pick(ACCOUNTS).encodingAESKey, appId).encrypt(alnum(int(0, 100)), bytes(16)),
      () =>
        cryptos
          .get(appId)!
          .encrypt(pick([alnum(int(0, 60)), '<xml>', '<xml><a>1</a>', '<root/>', '']), bytes(16)),
      () =>
        new WechatCrypto(account.token, account.encodingAESKey, OTHER_APP_ID).encrypt(validXml(), bytes(16)),
    ])();
  };

  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const account = pick(ACCOUNTS);
    let kind: string;
    let body: Buffer;
    let encrypt: string | undefined;
    switch (int(0, 7)) {
      case 0:
        kind = 'random bytes';
        body = bytes(int(0, 3_000));
        break;
      case 1: {
        kind = 'truncated XML';
        const xml = rnd() < 0.5 ? validXml() : envelope(validEncrypt(account.appId));
        body = Buffer.from(xml.slice(0, int(0, xml.length - 1)));
        break;
      }
      case 2:
        kind = 'bit-flipped XML';
        body = flipBits(
          Buffer.from(rnd() < 0.5 ? validXml() : envelope(validEncrypt(account.appId))),
          int(1, 8),
        );
        break;
      case 3:
        kind = 'random elements';
        body = Buffer.from(`<xml>${Array.from({ length: int(0, 12) }, () => element(0)).join('')}</xml>`);
        break;
      case 4: {
        kind = 'deep nesting';
        const depth = int(50, 25_000);
        const tag = pick(['a', 'xml', 'item', 'Content']);
        const closed = rnd() < 0.7;
        body = Buffer.from(
          `<xml>${`<${tag}>`.repeat(depth)}x${closed ? `</${tag}>`.repeat(depth) : ''}</xml>`,
        );
        break;
      }
      case 5:
      case 6:
        kind = 'random Encrypt';
        encrypt = randomEncrypt(account);
        body = Buffer.from(envelope(encrypt));
        break;
      default:
        kind = 'valid XML, mutated query';
        body = Buffer.from(validXml());
        if (rnd() < 0.3) encrypt = '';
    }

    const signedRight = rnd() < 0.5;
    let query: Query;
    if (signedRight) {
      query = sign(account, { nonce: String(int(0, 1e9)), encrypt: rnd() < 0.85 ? encrypt : undefined });
      if (encrypt !== undefined && rnd() < 0.1) query.msg_signature = alnum(40).toLowerCase();
    } else {
      const base = sign(account, { nonce: String(int(0, 1e9)), encrypt });
      query = pick([
        () => ({ ...base, signature: bytes(20).toString('hex') }),
        () => ({ ...base, signature: sha1Signature('wrongToken', base.timestamp!, base.nonce!) }),
        () => ({ ...base, signature: base.signature!.toUpperCase() }),
        () => {
          const { signature: _s, ...rest } = base;
          return rest;
        },
        () => ({ ...sign(account, { timestamp: String(Number(now()) - int(400, 1e6)), encrypt }) }),
        () => ({ ...base, timestamp: alnum(int(1, 12)) }),
        () => ({}),
      ])();
    }
    cases.push({
      kind,
      hub: i % 2 === 0 ? hubA : hubB,
      appId: rnd() < 0.03 ? pick([UNKNOWN_APP_ID, OTHER_APP_ID]) : account.appId,
      query,
      body,
      contentType: pick([
        'text/xml',
        'text/xml',
        'text/xml',
        'text/xml',
        'application/xml',
        'text/xml; charset=utf-8',
        null,
        'application/octet-stream',
        'application/json',
      ]),
    });
  }
  return cases;
}

describe('fuzz', () => {
  it(`${FUZZ_COUNT} random and mutated pushes: never a 5xx, never a dropped connection, and the hubs stay healthy`, async () => {
    const cases = fuzzCases(FUZZ_SEED, FUZZ_COUNT);
    const histogram: Record<string, number> = {};
    const byKind: Record<string, Record<string, number>> = {};
    const failures: string[] = [];
    let slowest = 0;
    let next = 0;
    const started = performance.now();

    await Promise.all(
      Array.from({ length: FUZZ_CONCURRENCY }, async () => {
        while (next < cases.length) {
          const index = next++;
          const c = cases[index]!;
          let outcome: string;
          try {
            const answer = await post(c.hub, c.appId, c.query, c.body, c.contentType);
            outcome = String(answer.status);
            slowest = Math.max(slowest, answer.ms);
            if (answer.status >= 500)
              failures.push(`#${index} ${c.kind}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
          } catch (error) {
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            outcome = `error ${cause?.code ?? (error as Error).message}`;
            failures.push(`#${index} ${c.kind}: ${outcome} ${cause?.message ?? ''}`);
          }
          histogram[outcome] = (histogram[outcome] ?? 0) + 1;
          const kindCounts = (byKind[c.kind] ??= {});
          kindCounts[outcome] = (kindCounts[outcome] ?? 0) + 1;
        }
      }),
    );
    const elapsed = performance.now() - started;
    console.log(
      `fuzz (seed ${FUZZ_SEED.toString(16)}): ${cases.length} requests in ${(elapsed / 1000).toFixed(1)} s, slowest ${slowest.toFixed(0)} ms\n` +
        `status histogram: ${JSON.stringify(histogram)}\nby kind: ${JSON.stringify(byKind, null, 1)}`,
    );

    expect(failures).toEqual([]);
    expect(Object.values(histogram).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2_000);
    expect(elapsed).toBeLessThan(60_000);
    await expectHealthy();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// defects found while writing this file (see the report); these fail until the code under test is fixed

describe('found defects', () => {
  it.each(['constructor', 'hasOwnProperty', '__proto__', 'valueOf'].map((name) => [name] as const))(
    'a signed push whose MsgType or Event is "%s" (an Object.prototype member) is answered success, not 500',
    async (name) => {
      const user = openId('proto');
      const head = `<xml><ToUserName><![CDATA[${GH}]]></ToUserName><FromUserName><![CDATA[${user}]]></FromUserName><CreateTime>${now()}</CreateTime>`;
      const asMsgType = await post(
        hubA,
        PLAIN.appId,
        sign(PLAIN),
        `${head}<MsgType><![CDATA[${name}]]></MsgType><MsgId>${msgId()}</MsgId></xml>`,
      );
      const asEvent = await post(
        hubB,
        PLAIN.appId,
        sign(PLAIN),
        `${head}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[${name}]]></Event></xml>`,
      );
      expect([asMsgType.status, asMsgType.body, asEvent.status, asEvent.body]).toEqual([
        200,
        'success',
        200,
        'success',
      ]);
    },
  );

  it('a JSON body that is a JSON string holding the XML is refused with 400 like any JSON body', async () => {
    const id = msgId();
    const xml = xmlOf({ fromUser: openId('jsonstr'), text: 'smuggled as JSON', msgId: id });
    const answer = await post(hubA, PLAIN.appId, sign(PLAIN), JSON.stringify(xml), 'application/json');
    expect(answer.status).toBe(400);
    expect(runs(id)).toEqual([]);
  });
});
