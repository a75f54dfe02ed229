'use strict';
/**
 * What the benchmark sends and checks, built on the project's own compiled crypto (dist/): signed pushes in
 * plaintext or safe mode, each with a fresh nonce, timestamp = now and a MsgId never used before in this process,
 * and the checks of the echo replies.
 */
const path = require('node:path');

const DIST = path.resolve(__dirname, '../../dist');
const { SANDBOX_DEMO_ACCOUNT: DEMO, SANDBOX_DEMO_MINI_PROGRAM: MP } = require(
  path.join(DIST, 'sandbox/sandbox.constants.js'),
);
const { WechatCrypto, sha1Signature } = require(path.join(DIST, 'wechat-callback/wechat-crypto.js'));

const CALLBACK_PATH = `/wechat/${DEMO.appId}`;
const TO_USER = 'gh_sandbox00000';
const crypto = new WechatCrypto(DEMO.token, DEMO.encodingAESKey, DEMO.appId);
/** JSON safe mode goes to the sandbox demo Mini Program (safe mode, data format JSON). */
const MP_CALLBACK_PATH = `/wechat/${MP.appId}`;
const mpCrypto = new WechatCrypto(MP.token, MP.encodingAESKey, MP.appId);

// 19-digit MsgIds: the run's start second followed by a 9-digit counter, so no two pushes of a run share one.
const MSG_ID_PREFIX = String(Math.floor(Date.now() / 1000)).padStart(10, '0');
let counter = 0;

/**
 * One push as WeChat would send it. `mode` is 'plain', 'safe' or 'jsonSafe' (the JSON form of a safe-mode push to a
 * Mini Program: `{"ToUserName","Encrypt"}` around the message JSON, MsgId a bare 19-digit number). Returns the path with its query, the body and
 * the text a correct echo reply must contain.
 */
function makePush(mode, tamper) {
  const n = ++counter;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(1_000_000_000 + n);
  const openid = `oBench${String(n % 1000).padStart(22, '0')}`;
  const content = `bench message ${n}`;
  const xml =
    `<xml><ToUserName><![CDATA[${TO_USER}]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName>` +
    `<CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
    `<Content><![CDATA[${content}]]></Content><MsgId>${MSG_ID_PREFIX}${String(n).padStart(9, '0')}</MsgId></xml>`;
  if (mode === 'jsonSafe') {
    const json =
      `{"ToUserName":"${TO_USER}","FromUserName":"${openid}","CreateTime":${timestamp},"MsgType":"text",` +
      `"Content":"${content}","MsgId":${MSG_ID_PREFIX}${String(n).padStart(9, '0')}}`;
    const encrypted = mpCrypto.encrypt(json);
    let msgSignature = mpCrypto.signEncrypted(timestamp, nonce, encrypted);
    if (tamper === 'msg_signature') msgSignature = flipHex(msgSignature);
    let outer = sha1Signature(MP.token, timestamp, nonce);
    if (tamper === 'signature') outer = flipHex(outer);
    return {
      path:
        `${MP_CALLBACK_PATH}?signature=${outer}&timestamp=${timestamp}&nonce=${nonce}&openid=${openid}` +
        `&encrypt_type=aes&msg_signature=${msgSignature}`,
      body: `{"ToUserName":"${TO_USER}","Encrypt":"${encrypted}"}`,
      contentType: 'application/json',
      expected: openid,
    };
  }
  let signature = sha1Signature(DEMO.token, timestamp, nonce);
  if (tamper === 'signature') signature = flipHex(signature);
  let query = `signature=${signature}&timestamp=${timestamp}&nonce=${nonce}&openid=${openid}`;
  let body = xml;
  if (mode === 'safe') {
    const encrypted = crypto.encrypt(xml);
    let msgSignature = crypto.signEncrypted(timestamp, nonce, encrypted);
    if (tamper === 'msg_signature') msgSignature = flipHex(msgSignature);
    query += `&encrypt_type=aes&msg_signature=${msgSignature}`;
    body = `<xml><ToUserName><![CDATA[${TO_USER}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`;
  }
  return { path: `${CALLBACK_PATH}?${query}`, body, expected: `You said: ${content}` };
}

function flipHex(hex) {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}

/** A URL-verification GET (`echostr`), used to wait until a server answers on the callback path. */
function verificationPath(echostr) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(Date.now());
  return `${CALLBACK_PATH}?signature=${sha1Signature(DEMO.token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}&echostr=${echostr}`;
}

function tag(xml, name) {
  const m = new RegExp(`<${name}>(?:<!\\[CDATA\\[)?([\\s\\S]*?)(?:\\]\\]>)?</${name}>`).exec(xml);
  return m ? m[1] : undefined;
}

/**
 * Checks an echo reply: plain text XML in plaintext mode; in safe mode an envelope whose MsgSignature is right and
 * whose Encrypt opens (with this account's AppID) to the text reply. Returns the inner reply XML or throws.
 */
function checkReply(mode, body, expected) {
  if (mode === 'jsonSafe') return checkJsonReply(body, expected);
  let xml = body;
  if (mode === 'safe') {
    const encrypted = tag(body, 'Encrypt');
    if (!encrypted) throw new Error(`safe-mode reply is not an encrypted envelope: ${body.slice(0, 200)}`);
    if (tag(body, 'Content') !== undefined) throw new Error('safe-mode reply leaks a plaintext Content');
    const signature = tag(body, 'MsgSignature');
    const wanted = crypto.signEncrypted(tag(body, 'TimeStamp') ?? '', tag(body, 'Nonce') ?? '', encrypted);
    if (signature !== wanted) throw new Error('safe-mode reply has a wrong MsgSignature');
    xml = crypto.decryptFor(encrypted);
  }
  if (tag(xml, 'MsgType') !== 'text' || tag(xml, 'Content') !== expected) {
    throw new Error(`reply does not echo "${expected}": ${xml.slice(0, 300)}`);
  }
  return xml;
}

/**
 * A JSON safe-mode reply: the envelope `{"Encrypt","MsgSignature","TimeStamp","Nonce"}` with a right MsgSignature,
 * opening to the hand-over to customer service addressed to `openid` (a Mini Program's only passive reply).
 */
function checkJsonReply(body, openid) {
  let envelope;
  try {
    envelope = JSON.parse(body);
  } catch {
    throw new Error(`JSON safe-mode reply is not JSON: ${body.slice(0, 200)}`);
  }
  const { Encrypt, MsgSignature, TimeStamp, Nonce } = envelope;
  if (typeof Encrypt !== 'string') throw new Error(`JSON safe-mode reply is not an envelope: ${body.slice(0, 200)}`);
  if (MsgSignature !== mpCrypto.signEncrypted(String(TimeStamp), String(Nonce), Encrypt)) {
    throw new Error('JSON safe-mode reply has a wrong MsgSignature');
  }
  const reply = JSON.parse(mpCrypto.decryptFor(Encrypt));
  if (reply.MsgType !== 'transfer_customer_service' || reply.ToUserName !== openid) {
    throw new Error(`JSON reply is not the hand-over to ${openid}: ${JSON.stringify(reply).slice(0, 300)}`);
  }
  return reply;
}

module.exports = { DEMO, CALLBACK_PATH, makePush, verificationPath, checkReply };
