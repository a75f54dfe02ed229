import { randomBytes } from 'node:crypto';
import { sha1Signature, WechatCrypto } from '../wechat-callback/wechat-crypto';
import { renderCdata } from '../wechat-callback/wechat-xml';

export interface PushMessage {
  /** The account's original id (`gh_…`). */
  toUser?: string;
  /** The sender's openid. */
  fromUser?: string;
  createTime?: number;
  /** A text message with this content… */
  text?: string;
  /** …or an event (subscribe, CLICK, SCAN, …) with an optional EventKey. */
  event?: string;
  eventKey?: string;
  msgId?: string;
}

export interface PushTarget {
  appId: string;
  /** The callback token of the account. */
  token: string;
  /** Needed with `encrypt`. */
  encodingAESKey?: string;
  encrypt?: boolean;
  timestamp?: string;
  nonce?: string;
}

export interface SignedPush {
  query: Record<string, string>;
  body: string;
  /** The plaintext message XML (before encryption). */
  xml: string;
}

/** A push to an account that pushes JSON (a Mini Program set to 数据格式 JSON). */
export interface JsonPushTarget extends PushTarget {
  /** With `encrypt`: compatible mode, the plaintext fields and `Encrypt` side by side (safe mode otherwise). */
  compatible?: boolean;
}

export interface SignedJsonPush {
  query: Record<string, string>;
  body: string;
  /** The plaintext message JSON (before encryption). */
  json: string;
}

interface ReplyEnvelope {
  encrypted: string;
  signature: unknown;
  timestamp: string;
  nonce: string;
}

/** How one format writes a push and wraps or opens an encrypted one; building, signing and opening are shared. */
interface PushFormat {
  stringField(name: string, value: string): string;
  numberField(name: string, value: string): string;
  message(fields: string[]): string;
  /** The sender's openid, for the `openid` query parameter. */
  sender(message: string): string;
  envelope(message: string, encrypted: string, target: JsonPushTarget): string;
  /** The encrypted part of a reply, or undefined for a reply sent plain. */
  openEnvelope(body: string): ReplyEnvelope | undefined;
}

const XML: PushFormat = {
  stringField: (name, value) => `<${name}>${renderCdata(value)}</${name}>`,
  numberField: (name, value) => `<${name}>${value}</${name}>`,
  message: (fields) => `<xml>${fields.join('')}</xml>`,
  sender: (xml) => /<FromUserName><!\[CDATA\[([^\]]*)\]\]>/.exec(xml)?.[1] ?? '',
  envelope(xml, encrypted) {
    const toUser = /<ToUserName>(.*?)<\/ToUserName>/.exec(xml)?.[1] ?? '';
    return `<xml><ToUserName>${toUser}</ToUserName><Encrypt>${renderCdata(encrypted)}</Encrypt></xml>`;
  },
  openEnvelope(body) {
    const encrypted = /<Encrypt><!\[CDATA\[([^\]]*)\]\]><\/Encrypt>/.exec(body)?.[1];
    if (!encrypted) return undefined;
    return {
      encrypted,
      signature: /<MsgSignature><!\[CDATA\[([^\]]*)\]\]>/.exec(body)?.[1],
      timestamp: /<TimeStamp>([^<]*)<\/TimeStamp>/.exec(body)?.[1] ?? '',
      nonce: /<Nonce><!\[CDATA\[([^\]]*)\]\]>/.exec(body)?.[1] ?? '',
    };
  },
};

const JSON_FORMAT: PushFormat = {
  stringField: (name, value) => `"${name}":${JSON.stringify(value)}`,
  // a number beyond 2^53 (a MsgId) is written as it is: JSON.stringify cannot
  numberField: (name, value) =>
    `"${name}":${/^(0|[1-9][0-9]*)$/.test(value) ? value : JSON.stringify(value)}`,
  message: (fields) => `{${fields.join(',')}}`,
  sender: (json) => jsonStringField(json, 'FromUserName'),
  envelope: (json, encrypted, target) =>
    target.compatible
      ? `${json.replace(/\}\s*$/, '')},"Encrypt":${JSON.stringify(encrypted)}}`
      : JSON.stringify({ ToUserName: jsonStringField(json, 'ToUserName'), Encrypt: encrypted }),
  openEnvelope(body) {
    let envelope: unknown;
    try {
      envelope = JSON.parse(body);
    } catch {
      return undefined;
    }
    if (envelope === null || typeof envelope !== 'object') return undefined;
    const { Encrypt, MsgSignature, TimeStamp, Nonce } = envelope as Record<string, unknown>;
    if (typeof Encrypt !== 'string') return undefined;
    return {
      encrypted: Encrypt,
      signature: MsgSignature,
      timestamp: String(TimeStamp),
      nonce: String(Nonce),
    };
  },
};

/** The value of a top-level string field, read without parsing (the JSON may be malformed on purpose). */
function jsonStringField(json: string, field: string): string {
  const match = new RegExp(`"${field}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")`).exec(json)?.[1];
  if (match === undefined) return '';
  try {
    return JSON.parse(match) as string;
  } catch {
    return '';
  }
}

function buildPush(format: PushFormat, message: PushMessage): string {
  const createTime = message.createTime ?? Math.floor(Date.now() / 1000);
  const fields = [
    format.stringField('ToUserName', message.toUser ?? 'gh_sandbox00000'),
    format.stringField('FromUserName', message.fromUser ?? 'o_sandbox_user_000000000000'),
    format.numberField('CreateTime', String(createTime)),
  ];
  if (message.event) {
    fields.push(format.stringField('MsgType', 'event'), format.stringField('Event', message.event));
    if (message.eventKey !== undefined) fields.push(format.stringField('EventKey', message.eventKey));
  } else {
    const msgId =
      message.msgId ?? String(BigInt(createTime) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE()));
    fields.push(
      format.stringField('MsgType', 'text'),
      format.stringField('Content', message.text ?? ''),
      format.numberField('MsgId', msgId),
    );
  }
  return format.message(fields);
}

function sign(format: PushFormat, target: JsonPushTarget, message: string): Omit<SignedPush, 'xml'> {
  const timestamp = target.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = target.nonce ?? String(randomBytes(4).readUInt32BE());
  const query: Record<string, string> = {
    signature: sha1Signature(target.token, timestamp, nonce),
    timestamp,
    nonce,
    openid: format.sender(message),
  };
  if (!target.encrypt) return { query, body: message };
  if (!target.encodingAESKey) throw new Error('encrypting a push needs the encodingAESKey');
  const crypto = new WechatCrypto(target.token, target.encodingAESKey, target.appId);
  const encrypted = crypto.encrypt(message);
  query.encrypt_type = 'aes';
  query.msg_signature = crypto.signEncrypted(timestamp, nonce, encrypted);
  return { query, body: format.envelope(message, encrypted, target) };
}

function openWith(format: PushFormat, target: PushTarget, body: string): string {
  const envelope = format.openEnvelope(body);
  if (envelope === undefined || !target.encodingAESKey) return body;
  const crypto = new WechatCrypto(target.token, target.encodingAESKey, target.appId);
  if (envelope.signature !== crypto.signEncrypted(envelope.timestamp, envelope.nonce, envelope.encrypted)) {
    throw new Error('the reply envelope has a wrong MsgSignature');
  }
  return crypto.decryptFor(envelope.encrypted);
}

/** The XML WeChat would push for a text message or an event. */
export function pushXml(message: PushMessage): string {
  return buildPush(XML, message);
}

/** Signs (and in safe/compatible fashion, encrypts) a push exactly as WeChat does. */
export function signPush(target: PushTarget, xml: string): SignedPush {
  return { ...sign(XML, target, xml), xml };
}

/** Opens an encrypted reply envelope (checking its signature); plain replies are returned as they are. */
export function openReply(target: PushTarget, body: string): string {
  return openWith(XML, target, body);
}

/**
 * The JSON WeChat would push to a JSON-format account for a text message or an event: `CreateTime` and `MsgId`
 * as bare numbers, as WeChat writes them (a MsgId beyond 2^53 included, which `JSON.stringify` cannot write).
 */
export function pushJson(message: PushMessage): string {
  return buildPush(JSON_FORMAT, message);
}

/**
 * Signs (and with `encrypt`, encrypts) a JSON push exactly as WeChat does: plain, the message JSON as the body;
 * safe mode, `{"ToUserName", "Encrypt"}` with `encrypt_type=aes&msg_signature=…`; compatible mode, the message's
 * fields and `Encrypt`. Any text is accepted as `json`, so a malformed message can be sent signed.
 */
export function signJsonPush(target: JsonPushTarget, json: string): SignedJsonPush {
  return { ...sign(JSON_FORMAT, target, json), json };
}

/**
 * Opens an encrypted JSON reply envelope (`{"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}`), checking its
 * signature; any other body (`success`, a plain JSON reply) is returned as it is.
 */
export function openJsonReply(target: PushTarget, body: string): string {
  return openWith(JSON_FORMAT, target, body);
}
