import { timingSafeEqual } from 'node:crypto';
import { InvalidSignatureError } from './errors/invalid-signature.error';
import { MalformedJsonError } from './errors/malformed-json.error';
import type { WechatCrypto } from './wechat-crypto';
import type { ReplyAddress, WechatReply } from './wechat-reply';
import { alwaysArray, type WechatXmlObject, type WechatXmlValue } from './wechat-xml';

/** The bounds a JSON push must keep; WeChat's real pushes stay far inside them. */
export const JSON_PUSH_LIMITS = {
  /** Objects and arrays inside each other, the top-level object included (the XML reader stops at 16 too). */
  maxDepth: 16,
  /** Characters of one number literal: a 64-bit id has at most 20. */
  maxNumberChars: 32,
  /** Characters of one string once unescaped (a whole callback body is at most 64 KiB). */
  maxStringChars: 65_536,
} as const;

const RESERVED: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Events whose JSON form carries its entries in a top-level `List` (an object for one entry, an array for several)
 * where the XML form nests them in a container element (`<SubscribeMsgPopupEvent><List>…</List>…`).
 */
const LIST_CONTAINER_OF_EVENT: ReadonlyMap<string, string> = new Map([
  ['subscribe_msg_popup_event', 'SubscribeMsgPopupEvent'],
  ['subscribe_msg_change_event', 'SubscribeMsgChangeEvent'],
  ['subscribe_msg_sent_event', 'SubscribeMsgSentEvent'],
]);

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ESCAPES: Readonly<Record<number, string>> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

/** The values of a JSON array while it is read: how they land depends on the key that holds them. */
class Repeats {
  constructor(readonly values: WechatXmlValue[]) {}
}

type ReadValue = WechatXmlValue | Repeats;

/**
 * Lays a JSON array out as the same element repeated would come out of the XML parser: nothing for no entries,
 * the entry itself for one, an array for several — and always an array for elements that are lists by nature.
 */
function settle(value: ReadValue, key: string, parent: string): WechatXmlValue | undefined {
  const list = alwaysArray(key, parent);
  if (!(value instanceof Repeats)) return list ? [value] : value;
  const values = value.values;
  if (values.length === 0) return undefined;
  if (values.length === 1 && !list) return values[0];
  return values;
}

/** A strict RFC 8259 reader that builds the XML parser's message shape as it goes. */
class JsonPushReader {
  private at = 0;

  constructor(private readonly text: string) {}

  read(): WechatXmlObject {
    this.skipSpace();
    if (this.text.charCodeAt(this.at) !== 0x7b /* { */) this.fail('the top level is not an object');
    const root = this.readObject('xml', 1);
    this.skipSpace();
    if (this.at !== this.text.length) this.fail('text after the top-level object');
    return root === '' ? {} : root;
  }

  private fail(reason: string, at = this.at): never {
    throw new MalformedJsonError(reason, at);
  }

  private skipSpace(): void {
    const text = this.text;
    let at = this.at;
    for (; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
    }
    this.at = at;
  }

  /** One value held under `key` (whose own parent is `parent`), at nesting `depth` of its container. */
  private readValue(key: string, depth: number): ReadValue {
    this.skipSpace();
    const code = this.text.charCodeAt(this.at);
    switch (code) {
      case 0x7b /* { */:
        return this.readObject(key, depth + 1);
      case 0x5b /* [ */:
        return this.readArray(key, depth + 1);
      case 0x22 /* " */:
        return this.readString();
      case 0x74 /* t */:
        return this.readLiteral('true', 'true');
      case 0x66 /* f */:
        return this.readLiteral('false', 'false');
      case 0x6e /* n */:
        // an empty XML element and a null both say "no value"
        return this.readLiteral('null', '');
      default:
        if (code === 0x2d /* - */ || (code >= 0x30 && code <= 0x39)) return this.readNumber();
        return this.fail(Number.isNaN(code) ? 'the body ends too early' : 'an unexpected character');
    }
  }

  /** An object: its members as the children of an element named `key`; `''` when it has none, as `<key/>`. */
  private readObject(key: string, depth: number): WechatXmlObject | '' {
    if (depth > JSON_PUSH_LIMITS.maxDepth) {
      this.fail(`nesting deeper than ${JSON_PUSH_LIMITS.maxDepth} levels`);
    }
    this.at++;
    this.skipSpace();
    if (this.text.charCodeAt(this.at) === 0x7d /* } */) {
      this.at++;
      return '';
    }
    const members: WechatXmlObject = {};
    const seen = new Set<string>();
    for (;;) {
      this.skipSpace();
      const keyAt = this.at;
      if (this.text.charCodeAt(this.at) !== 0x22) this.fail('expected a key');
      const name = this.readString();
      // the name is one of three fixed words, safe to show; other keys are never quoted
      if (RESERVED.has(name)) this.fail(`the reserved key "${name}"`, keyAt);
      if (seen.has(name)) this.fail('a duplicate key', keyAt);
      seen.add(name);
      this.skipSpace();
      if (this.text.charCodeAt(this.at) !== 0x3a /* : */) this.fail('expected ":" after a key');
      this.at++;
      const value = settle(this.readValue(name, depth), name, key);
      // RESERVED keys never get here, so plain assignment cannot reach a prototype
      if (value !== undefined) members[name] = value;
      this.skipSpace();
      const next = this.text.charCodeAt(this.at);
      this.at++;
      if (next === 0x7d /* } */) return Object.keys(members).length === 0 ? '' : members;
      if (next !== 0x2c /* , */) this.fail('expected "," or "}" in an object', this.at - 1);
    }
  }

  private readArray(key: string, depth: number): Repeats {
    if (depth > JSON_PUSH_LIMITS.maxDepth) {
      this.fail(`nesting deeper than ${JSON_PUSH_LIMITS.maxDepth} levels`);
    }
    this.at++;
    this.skipSpace();
    const values: WechatXmlValue[] = [];
    if (this.text.charCodeAt(this.at) === 0x5d /* ] */) {
      this.at++;
      return new Repeats(values);
    }
    for (;;) {
      const value = this.readValue(key, depth);
      // an array inside an array has no XML form (WeChat sends none): it stays an array, unless empty
      if (!(value instanceof Repeats)) values.push(value);
      else if (value.values.length > 0) values.push(value.values);
      this.skipSpace();
      const next = this.text.charCodeAt(this.at);
      this.at++;
      if (next === 0x5d /* ] */) return new Repeats(values);
      if (next !== 0x2c /* , */) this.fail('expected "," or "]" in an array', this.at - 1);
    }
  }

  private readString(): string {
    const text = this.text;
    const start = this.at;
    let at = start + 1;
    let from = at;
    let out = '';
    let escaped = false;
    for (;;) {
      if (at >= text.length) this.fail('a string is not closed', start);
      const code = text.charCodeAt(at);
      if (code === 0x22) break;
      if (code === 0x5c /* \ */) {
        out += text.slice(from, at);
        escaped = true;
        const kind = text.charCodeAt(at + 1);
        if (kind === 0x75 /* u */) {
          const hex = text.slice(at + 2, at + 6);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('an invalid \\u escape', at);
          out += String.fromCharCode(parseInt(hex, 16));
          at += 6;
        } else {
          const replacement = ESCAPES[kind];
          if (replacement === undefined) this.fail('an invalid escape', at);
          out += replacement;
          at += 2;
        }
        from = at;
        continue;
      }
      if (code < 0x20) this.fail('a control character inside a string', at);
      at++;
    }
    out += text.slice(from, at);
    this.at = at + 1;
    if (out.length > JSON_PUSH_LIMITS.maxStringChars) {
      this.fail(`a string longer than ${JSON_PUSH_LIMITS.maxStringChars} characters`, start);
    }
    // text decoded from UTF-8 cannot hold a lone surrogate; only an escape can make one
    if (escaped && LONE_SURROGATE.test(out)) this.fail('a string holds a lone surrogate escape', start);
    return out;
  }

  /** The literal exactly as written: a 19-digit MsgId keeps every digit (JSON.parse would round it). */
  private readNumber(): string {
    const start = this.at;
    NUMBER.lastIndex = start;
    if (!NUMBER.test(this.text)) this.fail('an invalid number');
    const end = NUMBER.lastIndex;
    if (end - start > JSON_PUSH_LIMITS.maxNumberChars) {
      this.fail(`a number longer than ${JSON_PUSH_LIMITS.maxNumberChars} characters`, start);
    }
    this.at = end;
    return this.text.slice(start, end);
  }

  private readLiteral(literal: string, value: string): string {
    if (!this.text.startsWith(literal, this.at)) this.fail('an unexpected character');
    this.at += literal.length;
    return value;
  }
}

/**
 * Moves the top-level `List` of a subscription-notice event into the container element the XML form has, as an
 * array whatever the count, so `message.SubscribeMsgPopupEvent.List` reads the same from both formats.
 */
function nestSubscriptionList(message: WechatXmlObject): WechatXmlObject {
  const container =
    message.MsgType === 'event' && typeof message.Event === 'string'
      ? LIST_CONTAINER_OF_EVENT.get(message.Event)
      : undefined;
  if (container === undefined || !Object.hasOwn(message, 'List') || Object.hasOwn(message, container)) {
    return message;
  }
  const list = message.List as WechatXmlValue;
  return Object.fromEntries(
    Object.entries(message).map(([key, value]) =>
      key === 'List' ? [container, { List: Array.isArray(list) ? list : [list] }] : [key, value],
    ),
  );
}

/**
 * Parses the body of a JSON-format push (plaintext, or the decrypted inner JSON) into exactly the shape
 * {@link parseWechatXml} gives the same message in XML, so a handler cannot tell the two formats apart:
 *
 * - every leaf is a string: numbers keep the literal text (a 64-bit `MsgId` beyond 2^53 stays exact),
 *   `true`/`false` become `'true'`/`'false'`, `null` and `{}` become `''` (as an empty element does);
 * - an array is laid out as a repeated element: absent when empty, the entry itself for one, an array for several;
 *   `item` and the `List` entries of subscription-notice events are always arrays;
 * - the top-level `List` of `subscribe_msg_popup_event` / `_change_event` / `_sent_event` moves into
 *   `SubscribeMsgPopupEvent` / `SubscribeMsgChangeEvent` / `SubscribeMsgSentEvent`, where the XML form has it.
 *
 * @throws MalformedJsonError when the body is not strict JSON (RFC 8259), the top level is not an object, a key
 * repeats or is `__proto__`/`constructor`/`prototype`, nesting passes 16 levels, a number passes 32 characters or
 * a string 65,536, or an escape makes a lone surrogate. The error never quotes the body.
 */
export function parseWechatJson(json: string): WechatXmlObject {
  if (typeof json !== 'string') throw new MalformedJsonError('the body is not text');
  return nestSubscriptionList(new JsonPushReader(json).read());
}

/** The query parameters that sign an encrypted push. */
export interface EncryptedPushParams {
  timestamp: string;
  nonce: string;
  /** `msg_signature`: SHA-1 over the sorted token, timestamp, nonce and `Encrypt`. */
  msgSignature: string;
}

/** An encrypted JSON push opened: the message as {@link parseWechatJson} gives it, and the decrypted text. */
export interface OpenedJsonPush {
  message: WechatXmlObject;
  json: string;
}

const LOWER_HEX_SHA1 = /^[0-9a-f]{40}$/;

/**
 * Opens the body of an encrypted JSON push, already parsed: `{"ToUserName": "gh_…", "Encrypt": "…"}` in safe mode,
 * the plaintext fields and `Encrypt` in compatible mode. The `msg_signature` is checked before anything is
 * decrypted; the decrypted text must carry this account's AppID and is parsed with {@link parseWechatJson}.
 * @throws MalformedJsonError when the body has no `Encrypt` string or the decrypted text is not a JSON push
 * @throws InvalidSignatureError (`msg_signature`) when the signature does not cover this `Encrypt`
 * @throws DecryptError or AppIdMismatchError from {@link WechatCrypto.decryptFor}
 */
export function openEncryptedJsonPush(
  crypto: WechatCrypto,
  outer: WechatXmlObject,
  params: EncryptedPushParams,
): OpenedJsonPush {
  const encrypt = outer.Encrypt;
  if (typeof encrypt !== 'string' || encrypt.length === 0) {
    throw new MalformedJsonError('the encrypted push has no Encrypt string');
  }
  if (
    !LOWER_HEX_SHA1.test(params.msgSignature) ||
    !timingSafeEqual(
      Buffer.from(params.msgSignature, 'hex'),
      Buffer.from(crypto.signEncrypted(params.timestamp, params.nonce, encrypt), 'hex'),
    )
  ) {
    throw new InvalidSignatureError('msg_signature');
  }
  const json = crypto.decryptFor(encrypt);
  return { message: parseWechatJson(json), json };
}

/**
 * The passive answer of a JSON-format (Mini Program) push to a handler's reply. The only passive reply a Mini
 * Program has is the hand-over to customer service, answered as JSON because the account pushes JSON:
 * `{"ToUserName": <openid>, "FromUserName": <gh_…>, "CreateTime": <seconds>, "MsgType": "transfer_customer_service"}`
 * (an agent, `kfAccount`, has no field here). Every other reply gets `null`: answer `success` at once and deliver
 * the reply through the customer-service send API.
 * @throws RangeError when `createTime` is not whole Unix seconds
 */
export function renderPassiveJsonReply(reply: WechatReply | null, to: ReplyAddress): string | null {
  if (reply?.kind !== 'transfer_customer_service') return null;
  if (!Number.isSafeInteger(to.createTime) || to.createTime < 0) {
    throw new RangeError('createTime must be whole Unix seconds');
  }
  return JSON.stringify({
    ToUserName: to.toUser,
    FromUserName: to.fromUser,
    CreateTime: to.createTime,
    MsgType: 'transfer_customer_service',
  });
}

/**
 * Encrypts a passive JSON reply and wraps it in the JSON reply envelope of a safe-mode account:
 * `{"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}`, `TimeStamp` a number (when it is one), `Nonce` a string,
 * `MsgSignature` = SHA-1 over the sorted token, TimeStamp, Nonce and Encrypt. Reusing the request's timestamp and
 * nonce is the usual practice.
 * @param random the 16 leading random bytes; fix them only in tests
 */
export function encryptedJsonReply(
  crypto: WechatCrypto,
  replyJson: string,
  timestamp: string,
  nonce: string,
  random?: Buffer,
): string {
  const encrypt = crypto.encrypt(replyJson, random);
  return JSON.stringify({
    Encrypt: encrypt,
    MsgSignature: crypto.signEncrypted(timestamp, nonce, encrypt),
    TimeStamp: /^[0-9]{1,15}$/.test(timestamp) ? Number(timestamp) : timestamp,
    Nonce: nonce,
  });
}
