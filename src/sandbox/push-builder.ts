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

/** The XML WeChat would push for a text message or an event. */
export function pushXml(message: PushMessage): string {
  const createTime = message.createTime ?? Math.floor(Date.now() / 1000);
  const head =
    `<xml><ToUserName>${renderCdata(message.toUser ?? 'gh_sandbox00000')}</ToUserName>` +
    `<FromUserName>${renderCdata(message.fromUser ?? 'o_sandbox_user_000000000000')}</FromUserName>` +
    `<CreateTime>${createTime}</CreateTime>`;
  if (message.event) {
    const key = message.eventKey === undefined ? '' : `<EventKey>${renderCdata(message.eventKey)}</EventKey>`;
    return `${head}<MsgType><![CDATA[event]]></MsgType><Event>${renderCdata(message.event)}</Event>${key}</xml>`;
  }
  const msgId =
    message.msgId ?? String(BigInt(createTime) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE()));
  return `${head}<MsgType><![CDATA[text]]></MsgType><Content>${renderCdata(message.text ?? '')}</Content><MsgId>${msgId}</MsgId></xml>`;
}

/** Signs (and in safe/compatible fashion, encrypts) a push exactly as WeChat does. */
export function signPush(target: PushTarget, xml: string): SignedPush {
  const timestamp = target.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = target.nonce ?? String(randomBytes(4).readUInt32BE());
  const query: Record<string, string> = {
    signature: sha1Signature(target.token, timestamp, nonce),
    timestamp,
    nonce,
    openid: /<FromUserName><!\[CDATA\[([^\]]*)\]\]>/.exec(xml)?.[1] ?? '',
  };
  if (!target.encrypt) return { query, body: xml, xml };
  if (!target.encodingAESKey) throw new Error('encrypting a push needs the encodingAESKey');
  const crypto = new WechatCrypto(target.token, target.encodingAESKey, target.appId);
  const encrypted = crypto.encrypt(xml);
  query.encrypt_type = 'aes';
  query.msg_signature = crypto.signEncrypted(timestamp, nonce, encrypted);
  const toUser = /<ToUserName>(.*?)<\/ToUserName>/.exec(xml)?.[1] ?? '';
  return {
    query,
    body: `<xml><ToUserName>${toUser}</ToUserName><Encrypt>${renderCdata(encrypted)}</Encrypt></xml>`,
    xml,
  };
}

/** Opens an encrypted reply envelope (checking its signature); plain replies are returned as they are. */
export function openReply(target: PushTarget, body: string): string {
  const encrypted = /<Encrypt><!\[CDATA\[([^\]]*)\]\]><\/Encrypt>/.exec(body)?.[1];
  if (!encrypted || !target.encodingAESKey) return body;
  const signature = /<MsgSignature><!\[CDATA\[([^\]]*)\]\]>/.exec(body)?.[1];
  const timestamp = /<TimeStamp>([^<]*)<\/TimeStamp>/.exec(body)?.[1] ?? '';
  const nonce = /<Nonce><!\[CDATA\[([^\]]*)\]\]>/.exec(body)?.[1] ?? '';
  const crypto = new WechatCrypto(target.token, target.encodingAESKey, target.appId);
  if (signature !== crypto.signEncrypted(timestamp, nonce, encrypted))
    throw new Error('the reply envelope has a wrong MsgSignature');
  return crypto.decryptFor(encrypted);
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

/**
 * The JSON WeChat would push to a JSON-format account for a text message or an event: `CreateTime` and `MsgId`
 * as bare numbers, as WeChat writes them (a MsgId beyond 2^53 included, which `JSON.stringify` cannot write).
 */
export function pushJson(message: PushMessage): string {
  const createTime = message.createTime ?? Math.floor(Date.now() / 1000);
  const head =
    `{"ToUserName":${JSON.stringify(message.toUser ?? 'gh_sandbox00000')},` +
    `"FromUserName":${JSON.stringify(message.fromUser ?? 'o_sandbox_user_000000000000')},` +
    `"CreateTime":${createTime}`;
  if (message.event) {
    const key = message.eventKey === undefined ? '' : `,"EventKey":${JSON.stringify(message.eventKey)}`;
    return `${head},"MsgType":"event","Event":${JSON.stringify(message.event)}${key}}`;
  }
  const msgId =
    message.msgId ?? String(BigInt(createTime) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE()));
  const msgIdJson = /^(0|[1-9][0-9]*)$/.test(msgId) ? msgId : JSON.stringify(msgId);
  return `${head},"MsgType":"text","Content":${JSON.stringify(message.text ?? '')},"MsgId":${msgIdJson}}`;
}

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

/**
 * Signs (and with `encrypt`, encrypts) a JSON push exactly as WeChat does: plain, the message JSON as the body;
 * safe mode, `{"ToUserName", "Encrypt"}` with `encrypt_type=aes&msg_signature=…`; compatible mode, the message's
 * fields and `Encrypt`. Any text is accepted as `json`, so a malformed message can be sent signed.
 */
export function signJsonPush(target: JsonPushTarget, json: string): SignedJsonPush {
  const timestamp = target.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = target.nonce ?? String(randomBytes(4).readUInt32BE());
  const query: Record<string, string> = {
    signature: sha1Signature(target.token, timestamp, nonce),
    timestamp,
    nonce,
    openid: jsonStringField(json, 'FromUserName'),
  };
  if (!target.encrypt) return { query, body: json, json };
  if (!target.encodingAESKey) throw new Error('encrypting a push needs the encodingAESKey');
  const crypto = new WechatCrypto(target.token, target.encodingAESKey, target.appId);
  const encrypted = crypto.encrypt(json);
  query.encrypt_type = 'aes';
  query.msg_signature = crypto.signEncrypted(timestamp, nonce, encrypted);
  const body = target.compatible
    ? `${json.replace(/\}\s*$/, '')},"Encrypt":${JSON.stringify(encrypted)}}`
    : JSON.stringify({ ToUserName: jsonStringField(json, 'ToUserName'), Encrypt: encrypted });
  return { query, body, json };
}

/**
 * Opens an encrypted JSON reply envelope (`{"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}`), checking its
 * signature; any other body (`success`, a plain JSON reply) is returned as it is.
 */
export function openJsonReply(target: PushTarget, body: string): string {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return body;
  }
  if (envelope === null || typeof envelope !== 'object') return body;
  const { Encrypt, MsgSignature, TimeStamp, Nonce } = envelope as Record<string, unknown>;
  if (typeof Encrypt !== 'string' || !target.encodingAESKey) return body;
  const crypto = new WechatCrypto(target.token, target.encodingAESKey, target.appId);
  if (MsgSignature !== crypto.signEncrypted(String(TimeStamp), String(Nonce), Encrypt)) {
    throw new Error('the reply envelope has a wrong MsgSignature');
  }
  return crypto.decryptFor(Encrypt);
}
