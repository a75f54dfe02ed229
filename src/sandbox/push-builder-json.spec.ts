import { InvalidSignatureError } from '../wechat-callback/errors/invalid-signature.error';
import { MalformedJsonError } from '../wechat-callback/errors/malformed-json.error';
import { signatureMatches, WechatCrypto } from '../wechat-callback/wechat-crypto';
import { encryptedJsonReply, openEncryptedJsonPush, parseWechatJson } from '../wechat-callback/wechat-json';
import { parseWechatXml } from '../wechat-callback/wechat-xml';
import { openJsonReply, pushJson, pushXml, signJsonPush, type JsonPushTarget } from './push-builder';

const TARGET: JsonPushTarget = {
  appId: 'wx1234567890abcdef',
  token: 'mini-token',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  timestamp: '1714112445',
  nonce: '415670741',
};
const crypto = () => new WechatCrypto(TARGET.token, TARGET.encodingAESKey!, TARGET.appId);

const TEXT = {
  toUser: 'gh_97417a04a28d',
  fromUser: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY',
  createTime: 1714112445,
  text: 'hello "quotes" ]]> & 中文 😀',
  msgId: '18446744073709551615',
};

describe('the JSON push builder', () => {
  it('writes CreateTime and a MsgId beyond 2^53 as bare numbers', () => {
    const json = pushJson(TEXT);
    expect(json).toContain('"CreateTime":1714112445');
    expect(json).toContain('"MsgId":18446744073709551615');
    expect(parseWechatJson(json).MsgId).toBe('18446744073709551615');
  });

  it.each([
    ['a text message', TEXT],
    ['an event with a key', { ...TEXT, event: 'CLICK', eventKey: 'V1001' }],
    ['an event without a key', { ...TEXT, event: 'user_enter_tempsession' }],
  ])('builds %s that parses exactly like the XML push of the same message', (_name, message) => {
    expect(parseWechatJson(pushJson(message))).toStrictEqual(parseWechatXml(pushXml(message)));
  });

  it('plain mode: the message JSON as the body, signed over token, timestamp and nonce', () => {
    const json = pushJson(TEXT);
    const push = signJsonPush(TARGET, json);
    expect(push.body).toBe(json);
    expect(push.query).toEqual({
      signature: expect.any(String) as string,
      timestamp: TARGET.timestamp,
      nonce: TARGET.nonce,
      openid: TEXT.fromUser,
    });
    expect(signatureMatches(push.query.signature!, TARGET.token, TARGET.timestamp!, TARGET.nonce!)).toBe(
      true,
    );
  });

  it('safe mode: {ToUserName, Encrypt} with msg_signature, which opens back to the message', () => {
    const json = pushJson(TEXT);
    const push = signJsonPush({ ...TARGET, encrypt: true }, json);
    const outer = parseWechatJson(push.body);
    expect(Object.keys(outer)).toEqual(['ToUserName', 'Encrypt']);
    expect(outer.ToUserName).toBe(TEXT.toUser);
    expect(push.query.encrypt_type).toBe('aes');
    const opened = openEncryptedJsonPush(crypto(), outer, {
      timestamp: push.query.timestamp!,
      nonce: push.query.nonce!,
      msgSignature: push.query.msg_signature!,
    });
    expect(opened.json).toBe(json);
    expect(opened.message).toStrictEqual(parseWechatXml(pushXml(TEXT)));
  });

  it('compatible mode: the plaintext fields and Encrypt side by side', () => {
    const json = pushJson(TEXT);
    const push = signJsonPush({ ...TARGET, encrypt: true, compatible: true }, json);
    const outer = parseWechatJson(push.body);
    const { Encrypt, ...plain } = outer;
    expect(plain).toStrictEqual(parseWechatJson(json));
    expect(typeof Encrypt).toBe('string');
    const opened = openEncryptedJsonPush(crypto(), outer, {
      timestamp: push.query.timestamp!,
      nonce: push.query.nonce!,
      msgSignature: push.query.msg_signature!,
    });
    expect(opened.message).toStrictEqual(plain);
  });

  it('signs and encrypts malformed JSON too, so bad input can reach the parser signed', () => {
    const push = signJsonPush({ ...TARGET, encrypt: true }, '{"MsgId":1,"MsgId":2}');
    const params = {
      timestamp: push.query.timestamp!,
      nonce: push.query.nonce!,
      msgSignature: push.query.msg_signature!,
    };
    expect(() => openEncryptedJsonPush(crypto(), parseWechatJson(push.body), params)).toThrow(
      MalformedJsonError,
    );
    expect(() =>
      openEncryptedJsonPush(crypto(), parseWechatJson(push.body), { ...params, nonce: 'other' }),
    ).toThrow(InvalidSignatureError);
  });

  it('opens an encrypted JSON reply, refuses a forged one, and passes success through', () => {
    const reply =
      '{"ToUserName":"o","FromUserName":"gh","CreateTime":1,"MsgType":"transfer_customer_service"}';
    const envelope = encryptedJsonReply(crypto(), reply, TARGET.timestamp!, TARGET.nonce!);
    expect(openJsonReply(TARGET, envelope)).toBe(reply);
    const forged = JSON.stringify({ ...(JSON.parse(envelope) as object), MsgSignature: 'f'.repeat(40) });
    expect(() => openJsonReply(TARGET, forged)).toThrow(/wrong MsgSignature/);
    expect(openJsonReply(TARGET, 'success')).toBe('success');
    expect(openJsonReply(TARGET, reply)).toBe(reply);
  });
});
