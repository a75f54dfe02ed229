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
