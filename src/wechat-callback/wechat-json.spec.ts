import { AppIdMismatchError } from './errors/app-id-mismatch.error';
import { DecryptError } from './errors/decrypt.error';
import { InvalidSignatureError } from './errors/invalid-signature.error';
import { MalformedJsonError } from './errors/malformed-json.error';
import { sha1Signature, WechatCrypto } from './wechat-crypto';
import {
  encryptedJsonReply,
  JSON_PUSH_LIMITS,
  openEncryptedJsonPush,
  parseWechatJson,
  renderPassiveJsonReply,
} from './wechat-json';
import {
  isWechatMessage,
  messageKind,
  type MiniProgramMessage,
  type SubscribeMsgSentEvent,
  type WxaMediaCheckEvent,
} from './wechat-message';
import { text, transferToCustomerService } from './wechat-reply';
import { parseWechatXml, renderCdata, type WechatXmlObject } from './wechat-xml';

/**
 * The worked example of WeChat's Mini Program message-push guide ("接收消息推送", the `debug_demo` event):
 * https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html — the same values
 * appear in the encryption guide of Official Accounts, …/doc/subscription/guide/dev/push/encryption.html.
 */
const DOC = {
  token: 'AAAAA',
  encodingAESKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  appId: 'wxba5fad812f8e6fb9',
  plain: {
    timestamp: '1714037059',
    nonce: '486452656',
    signature: '899cf89e464efb63f54ddac96b0a0a235f53aa78',
    body:
      '{\n    "ToUserName": "gh_97417a04a28d",\n    "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",\n' +
      '    "CreateTime": 1714037059,\n    "MsgType": "event",\n    "Event": "debug_demo",\n' +
      '    "debug_str": "hello world"\n}',
  },
  safe: {
    timestamp: '1714112445',
    nonce: '415670741',
    signature: '6c5c811b55cc85e0e1b54100749188c20beb3f5d',
    msgSignature: '046e02f8204d34f8ba5fa3b1db94908f3df2e9b3',
    encrypt:
      '+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv' +
      '6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNq' +
      'J4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=',
    random: 'a8eedb185eb2fecf',
    /** 167 bytes, as the guide says. */
    plaintext:
      '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,' +
      '"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
  },
  reply: {
    timestamp: '1713424427',
    nonce: '415670741',
    random: '707722b803182950',
    plaintext: '{"demo_resp":"good luck"}',
    encrypt: 'ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==',
    msgSignature: '1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1',
  },
};

const docCrypto = () => new WechatCrypto(DOC.token, DOC.encodingAESKey, DOC.appId);

describe('the JSON envelope against the published vectors', () => {
  it('plain mode: the signature of the example and its body as strings', () => {
    expect(sha1Signature(DOC.token, DOC.plain.timestamp, DOC.plain.nonce)).toBe(DOC.plain.signature);
    expect(parseWechatJson(DOC.plain.body)).toStrictEqual({
      ToUserName: 'gh_97417a04a28d',
      FromUserName: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY',
      CreateTime: '1714037059',
      MsgType: 'event',
      Event: 'debug_demo',
      debug_str: 'hello world',
    });
  });

  it('safe mode: checks msg_signature over token, timestamp, nonce and Encrypt, then opens the message', () => {
    const outer = parseWechatJson(
      `{\n    "ToUserName": "gh_97417a04a28d",\n    "Encrypt": "${DOC.safe.encrypt}"\n}`,
    );
    const opened = openEncryptedJsonPush(docCrypto(), outer, {
      timestamp: DOC.safe.timestamp,
      nonce: DOC.safe.nonce,
      msgSignature: DOC.safe.msgSignature,
    });
    expect(opened.json).toBe(DOC.safe.plaintext);
    expect(Buffer.byteLength(opened.json)).toBe(167);
    expect(opened.message).toStrictEqual({
      ToUserName: 'gh_97417a04a28d',
      FromUserName: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY',
      CreateTime: '1714112445',
      MsgType: 'event',
      Event: 'debug_demo',
      debug_str: 'hello world',
    });
    // the example's plain `signature` is valid as well (the guide only says not to rely on it in safe mode)
    expect(sha1Signature(DOC.token, DOC.safe.timestamp, DOC.safe.nonce)).toBe(DOC.safe.signature);
  });

  it('safe mode: encrypting the example with its random bytes gives the published Encrypt', () => {
    expect(docCrypto().encrypt(DOC.safe.plaintext, Buffer.from(DOC.safe.random))).toBe(DOC.safe.encrypt);
    expect(docCrypto().signEncrypted(DOC.safe.timestamp, DOC.safe.nonce, DOC.safe.encrypt)).toBe(
      DOC.safe.msgSignature,
    );
  });

  it('safe-mode reply: the JSON reply envelope of the example, byte for byte', () => {
    const envelope = encryptedJsonReply(
      docCrypto(),
      DOC.reply.plaintext,
      DOC.reply.timestamp,
      DOC.reply.nonce,
      Buffer.from(DOC.reply.random),
    );
    expect(JSON.parse(envelope)).toStrictEqual({
      Encrypt: DOC.reply.encrypt,
      MsgSignature: DOC.reply.msgSignature,
      TimeStamp: 1713424427,
      Nonce: '415670741',
    });
    expect(envelope).toBe(
      `{"Encrypt":"${DOC.reply.encrypt}","MsgSignature":"${DOC.reply.msgSignature}","TimeStamp":1713424427,"Nonce":"415670741"}`,
    );
    expect(docCrypto().decryptFor(DOC.reply.encrypt)).toBe(DOC.reply.plaintext);
  });

  it('refuses a wrong msg_signature before decrypting', () => {
    const decrypt = jest.spyOn(WechatCrypto.prototype, 'decryptFor');
    const outer = { ToUserName: 'gh_97417a04a28d', Encrypt: DOC.safe.encrypt };
    const params = { timestamp: DOC.safe.timestamp, nonce: DOC.safe.nonce };
    for (const msgSignature of [
      DOC.safe.signature,
      'f'.repeat(40),
      DOC.safe.msgSignature.toUpperCase(),
      '',
    ]) {
      expect(() => openEncryptedJsonPush(docCrypto(), outer, { ...params, msgSignature })).toThrow(
        InvalidSignatureError,
      );
    }
    // the signature covers the timestamp too
    expect(() =>
      openEncryptedJsonPush(docCrypto(), outer, {
        ...params,
        timestamp: '1714112446',
        msgSignature: DOC.safe.msgSignature,
      }),
    ).toThrow(InvalidSignatureError);
    expect(decrypt).not.toHaveBeenCalled();
    decrypt.mockRestore();
  });

  it('refuses a message encrypted for another Mini Program', () => {
    const other = new WechatCrypto(DOC.token, DOC.encodingAESKey, 'wx0000000000000000');
    const params = {
      timestamp: DOC.safe.timestamp,
      nonce: DOC.safe.nonce,
      msgSignature: DOC.safe.msgSignature,
    };
    expect(() => openEncryptedJsonPush(other, { Encrypt: DOC.safe.encrypt }, params)).toThrow(
      AppIdMismatchError,
    );
  });

  it('refuses an envelope without an Encrypt string, and ciphertext that is not base64', () => {
    const crypto = docCrypto();
    const params = { timestamp: '1', nonce: '2' };
    const outers: WechatXmlObject[] = [
      { ToUserName: 'gh_97417a04a28d' },
      { Encrypt: '' },
      { Encrypt: { a: 'b' } },
    ];
    for (const outer of outers) {
      expect(() => openEncryptedJsonPush(crypto, outer, { ...params, msgSignature: 'a'.repeat(40) })).toThrow(
        MalformedJsonError,
      );
    }
    const bad = '!!!not base64!!!';
    expect(() =>
      openEncryptedJsonPush(
        crypto,
        { Encrypt: bad },
        { ...params, msgSignature: crypto.signEncrypted('1', '2', bad) },
      ),
    ).toThrow(DecryptError);
  });

  it('refuses decrypted text that is not a JSON push', () => {
    const crypto = docCrypto();
    for (const plaintext of ['<xml><a>1</a></xml>', '{"a":1,"a":2}', '[1]']) {
      const encrypt = crypto.encrypt(plaintext);
      expect(() =>
        openEncryptedJsonPush(
          crypto,
          { Encrypt: encrypt },
          { timestamp: '1', nonce: '2', msgSignature: crypto.signEncrypted('1', '2', encrypt) },
        ),
      ).toThrow(MalformedJsonError);
    }
  });
});

/** A documented push in both data formats: both must parse to `expected`. */
interface DocPair {
  name: string;
  xml: string;
  json: string;
  expected: WechatXmlObject;
}

/**
 * The XML and JSON examples of the Mini Program docs, each pair from one page:
 * customer-service messages, …/miniprogram/dev/framework/open-ability/customer-message/receive.html;
 * subscription notices, …/miniprogram/dev/framework/open-ability/subscribe-message.html (the JSON examples there put
 * `List` at the top level — an object for one entry, an array for several — and quote `CreateTime`);
 * content check, …/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html.
 */
const DOC_PAIRS: DocPair[] = [
  {
    name: 'text',
    xml:
      '<xml>\n   <ToUserName><![CDATA[toUser]]></ToUserName>\n   <FromUserName><![CDATA[fromUser]]></FromUserName>\n' +
      '   <CreateTime>1482048670</CreateTime>\n   <MsgType><![CDATA[text]]></MsgType>\n' +
      '   <Content><![CDATA[this is a test]]></Content>\n   <MsgId>1234567890123456</MsgId>\n</xml>',
    json:
      '{\n  "ToUserName": "toUser",\n  "FromUserName": "fromUser",\n  "CreateTime": 1482048670,\n' +
      '  "MsgType": "text",\n  "Content": "this is a test",\n  "MsgId": 1234567890123456\n}',
    expected: {
      ToUserName: 'toUser',
      FromUserName: 'fromUser',
      CreateTime: '1482048670',
      MsgType: 'text',
      Content: 'this is a test',
      MsgId: '1234567890123456',
    },
  },
  {
    name: 'image',
    xml:
      '<xml>\n      <ToUserName><![CDATA[toUser]]></ToUserName>\n      <FromUserName><![CDATA[fromUser]]></FromUserName>\n' +
      '      <CreateTime>1482048670</CreateTime>\n      <MsgType><![CDATA[image]]></MsgType>\n' +
      '      <PicUrl><![CDATA[this is a url]]></PicUrl>\n      <MediaId><![CDATA[media_id]]></MediaId>\n' +
      '      <MsgId>1234567890123456</MsgId>\n</xml>',
    json:
      '{\n  "ToUserName": "toUser",\n  "FromUserName": "fromUser",\n  "CreateTime": 1482048670,\n' +
      '  "MsgType": "image",\n  "PicUrl": "this is a url",\n  "MediaId": "media_id",\n  "MsgId": 1234567890123456\n}',
    expected: {
      ToUserName: 'toUser',
      FromUserName: 'fromUser',
      CreateTime: '1482048670',
      MsgType: 'image',
      PicUrl: 'this is a url',
      MediaId: 'media_id',
      MsgId: '1234567890123456',
    },
  },
  {
    name: 'miniprogrampage',
    xml:
      '<xml>\n  <ToUserName><![CDATA[toUser]]></ToUserName>\n  <FromUserName><![CDATA[fromUser]]></FromUserName>\n' +
      '  <CreateTime>1482048670</CreateTime>\n  <MsgType><![CDATA[miniprogrampage]]></MsgType>\n' +
      '  <MsgId>1234567890123456</MsgId>\n  <Title><![CDATA[title]]></Title>\n  <AppId><![CDATA[appid]]></AppId>\n' +
      '  <PagePath><![CDATA[path]]></PagePath>\n  <ThumbUrl><![CDATA[]]></ThumbUrl>\n' +
      '  <ThumbMediaId><![CDATA[]]></ThumbMediaId>\n</xml>',
    json:
      '{\n  "ToUserName": "toUser",\n  "FromUserName": "fromUser",\n  "CreateTime": 1482048670,\n' +
      '  "MsgType": "miniprogrampage",\n  "MsgId": 1234567890123456,\n  "Title":"title",\n  "AppId":"appid",\n' +
      '  "PagePath":"path",\n  "ThumbUrl":"",\n  "ThumbMediaId":""\n}',
    expected: {
      ToUserName: 'toUser',
      FromUserName: 'fromUser',
      CreateTime: '1482048670',
      MsgType: 'miniprogrampage',
      MsgId: '1234567890123456',
      Title: 'title',
      AppId: 'appid',
      PagePath: 'path',
      ThumbUrl: '',
      ThumbMediaId: '',
    },
  },
  {
    name: 'user_enter_tempsession',
    xml:
      '<xml>\n    <ToUserName><![CDATA[toUser]]></ToUserName>\n    <FromUserName><![CDATA[fromUser]]></FromUserName>\n' +
      '    <CreateTime>1482048670</CreateTime>\n    <MsgType><![CDATA[event]]></MsgType>\n' +
      '    <Event><![CDATA[user_enter_tempsession]]></Event>\n    <SessionFrom><![CDATA[sessionFrom]]></SessionFrom>\n</xml>',
    json:
      '{\n  "ToUserName": "toUser",\n  "FromUserName": "fromUser",\n  "CreateTime": 1482048670,\n' +
      '  "MsgType": "event",\n  "Event": "user_enter_tempsession",\n  "SessionFrom": "sessionFrom"\n}',
    expected: {
      ToUserName: 'toUser',
      FromUserName: 'fromUser',
      CreateTime: '1482048670',
      MsgType: 'event',
      Event: 'user_enter_tempsession',
      SessionFrom: 'sessionFrom',
    },
  },
  {
    name: 'subscribe_msg_popup_event with one entry (List an object)',
    xml:
      '<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[o7esq5OI1Uej6Xixw1lA2H7XDVbc]]>' +
      '</FromUserName><CreateTime>1620973045</CreateTime><MsgType><![CDATA[event]]></MsgType>' +
      '<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List>' +
      '<TemplateId><![CDATA[hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68]]></TemplateId>' +
      '<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List>' +
      '</SubscribeMsgPopupEvent></xml>',
    json:
      '{\n  "ToUserName": "gh_123456789abc",\n  "FromUserName": "o7esq5OI1Uej6Xixw1lA2H7XDVbc",\n' +
      '  "CreateTime": "1620973045",\n  "MsgType": "event",\n  "Event": "subscribe_msg_popup_event",\n' +
      '  "List": {\n        "TemplateId": "hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68",\n' +
      '        "SubscribeStatusString": "accept",\n        "PopupScene": "0"\n    }\n }',
    expected: {
      ToUserName: 'gh_123456789abc',
      FromUserName: 'o7esq5OI1Uej6Xixw1lA2H7XDVbc',
      CreateTime: '1620973045',
      MsgType: 'event',
      Event: 'subscribe_msg_popup_event',
      SubscribeMsgPopupEvent: {
        List: [
          {
            TemplateId: 'hD-ixGOhYmUfjOnI8MCzQMPshzGVeux_2vzyvQu7O68',
            SubscribeStatusString: 'accept',
            PopupScene: '0',
          },
        ],
      },
    },
  },
  {
    name: 'subscribe_msg_popup_event with two entries (List an array)',
    xml:
      '<xml>\n    <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>\n' +
      '    <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>\n    <CreateTime>1610969440</CreateTime>\n' +
      '    <MsgType><![CDATA[event]]></MsgType>\n    <Event><![CDATA[subscribe_msg_popup_event]]></Event>\n' +
      '    <SubscribeMsgPopupEvent>\n        <List>\n' +
      '            <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>\n' +
      '            <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>\n' +
      '            <PopupScene>0</PopupScene>\n        </List>\n        <List>\n' +
      '            <TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>\n' +
      '            <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>\n' +
      '            <PopupScene>0</PopupScene>\n        </List>\n    </SubscribeMsgPopupEvent>\n</xml>',
    json:
      '{"ToUserName":"gh_123456789abc","FromUserName":"otFpruAK8D-E6EfStSYonYSBZ8_4","CreateTime":1610969440,' +
      '"MsgType":"event","Event":"subscribe_msg_popup_event","List":[{"TemplateId":' +
      '"VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc","SubscribeStatusString":"accept","PopupScene":"0"},' +
      '{"TemplateId":"9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI","SubscribeStatusString":"reject","PopupScene":"0"}]}',
    expected: {
      ToUserName: 'gh_123456789abc',
      FromUserName: 'otFpruAK8D-E6EfStSYonYSBZ8_4',
      CreateTime: '1610969440',
      MsgType: 'event',
      Event: 'subscribe_msg_popup_event',
      SubscribeMsgPopupEvent: {
        List: [
          {
            TemplateId: 'VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc',
            SubscribeStatusString: 'accept',
            PopupScene: '0',
          },
          {
            TemplateId: '9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI',
            SubscribeStatusString: 'reject',
            PopupScene: '0',
          },
        ],
      },
    },
  },
  {
    name: 'subscribe_msg_change_event (List an array of one, as the docs print it)',
    xml:
      '<xml>\n    <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>\n' +
      '    <FromUserName><![CDATA[o7esq5OI1Uej6Xixw1lA2H7XDVbc]]></FromUserName>\n    <CreateTime>1610968440</CreateTime>\n' +
      '    <MsgType><![CDATA[event]]></MsgType>\n    <Event><![CDATA[subscribe_msg_change_event]]></Event>\n' +
      '    <SubscribeMsgChangeEvent>\n        <List>' +
      '          <TemplateId><![CDATA[BEwX0BOT3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8]]></TemplateId>\n' +
      '            <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>\n        </List>\n' +
      '    </SubscribeMsgChangeEvent>\n</xml>',
    // the docs' example has a trailing comma ("}],\n}"), which no JSON parser accepts: left out here
    json:
      '{\n      "ToUserName": "gh_123456789abc",\n      "FromUserName": "o7esq5OI1Uej6Xixw1lA2H7XDVbc",\n' +
      '      "CreateTime": "1610968440",\n      "MsgType": "event",\n      "Event": "subscribe_msg_change_event",\n' +
      '      "List": [  {\n                "TemplateId":"BEwX0BOT3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8",\n' +
      '                "SubscribeStatusString": "reject"\n      }]\n}',
    expected: {
      ToUserName: 'gh_123456789abc',
      FromUserName: 'o7esq5OI1Uej6Xixw1lA2H7XDVbc',
      CreateTime: '1610968440',
      MsgType: 'event',
      Event: 'subscribe_msg_change_event',
      SubscribeMsgChangeEvent: {
        List: [{ TemplateId: 'BEwX0BOT3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8', SubscribeStatusString: 'reject' }],
      },
    },
  },
  {
    name: 'subscribe_msg_sent_event',
    xml:
      '<xml>\n    <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>\n' +
      '    <FromUserName><![CDATA[o7esq5PHRGBQYmeNyfG064wEFVpQ]]></FromUserName>\n    <CreateTime>1620963428</CreateTime>\n' +
      '    <MsgType><![CDATA[event]]></MsgType>\n    <Event><![CDATA[subscribe_msg_sent_event]]></Event>\n' +
      '    <SubscribeMsgSentEvent>\n        <List>' +
      '       <TemplateId><![CDATA[BEwX0BO-T3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8]]></TemplateId>\n' +
      '            <MsgID>1864323726461255680</MsgID>\n            <ErrorCode>0</ErrorCode>\n' +
      '            <ErrorStatus><![CDATA[success]]></ErrorStatus>\n        </List>\n    </SubscribeMsgSentEvent>\n</xml>',
    json:
      '{\n    "ToUserName": "gh_123456789abc",\n    "FromUserName": "o7esq5PHRGBQYmeNyfG064wEFVpQ",\n' +
      '    "CreateTime": "1620963428",\n    "MsgType": "event",\n    "Event": "subscribe_msg_sent_event",\n' +
      '    "List": {\n        "TemplateId": "BEwX0BO-T3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8",\n' +
      '        "MsgID": "1864323726461255680",\n        "ErrorCode": "0",\n        "ErrorStatus": "success"\n      }\n\n}',
    expected: {
      ToUserName: 'gh_123456789abc',
      FromUserName: 'o7esq5PHRGBQYmeNyfG064wEFVpQ',
      CreateTime: '1620963428',
      MsgType: 'event',
      Event: 'subscribe_msg_sent_event',
      SubscribeMsgSentEvent: {
        List: [
          {
            TemplateId: 'BEwX0BO-T3MqK3Uc5oTU3CGBqzjpndk2jzUf7VfExd8',
            MsgID: '1864323726461255680',
            ErrorCode: '0',
            ErrorStatus: 'success',
          },
        ],
      },
    },
  },
  {
    name: 'wxa_media_check (version 2)',
    xml:
      '<xml><ToUserName><![CDATA[gh_9df7d78a1234]]></ToUserName><FromUserName><![CDATA[o4_t144jTUSEoxydysUA2E234_tc]]>' +
      '</FromUserName><CreateTime>1626959646</CreateTime><MsgType><![CDATA[event]]></MsgType>' +
      '<Event><![CDATA[wxa_media_check]]></Event><appid><![CDATA[wx8f16a5be77871234]]></appid>' +
      '<trace_id><![CDATA[60f96f1d-3845297a-1976a3ae]]></trace_id><version>2</version>' +
      '<detail><strategy><![CDATA[content_model]]></strategy><errcode>0</errcode><suggest><![CDATA[pass]]></suggest>' +
      '<label>100</label><prob>90</prob></detail><errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg>' +
      '<result><suggest><![CDATA[pass]]></suggest><label>100</label></result></xml>',
    json:
      '{\n   "ToUserName": "gh_9df7d78a1234",\n   "FromUserName": "o4_t144jTUSEoxydysUA2E234_tc",\n' +
      '   "CreateTime": 1626959646,\n   "MsgType": "event",\n   "Event": "wxa_media_check",\n' +
      '   "appid": "wx8f16a5be77871234",\n   "trace_id": "60f96f1d-3845297a-1976a3ae",\n   "version": 2,\n' +
      '   "detail": [{\n        "strategy": "content_model",\n        "errcode": 0,\n        "suggest": "pass",\n' +
      '        "label": 100,\n        "prob": 90\n   }],\n   "errcode": 0,\n   "errmsg": "ok",\n' +
      '   "result": {\n        "suggest": "pass",\n        "label": 100\n   }\n}',
    expected: {
      ToUserName: 'gh_9df7d78a1234',
      FromUserName: 'o4_t144jTUSEoxydysUA2E234_tc',
      CreateTime: '1626959646',
      MsgType: 'event',
      Event: 'wxa_media_check',
      appid: 'wx8f16a5be77871234',
      trace_id: '60f96f1d-3845297a-1976a3ae',
      version: '2',
      detail: { strategy: 'content_model', errcode: '0', suggest: 'pass', label: '100', prob: '90' },
      errcode: '0',
      errmsg: 'ok',
      result: { suggest: 'pass', label: '100' },
    },
  },
];

describe('parseWechatJson: every documented Mini Program push', () => {
  it.each(DOC_PAIRS.map((pair) => [pair.name, pair] as const))('%s', (_name, pair) => {
    const fromJson = parseWechatJson(pair.json);
    expect(fromJson).toStrictEqual(pair.expected);
    expect(parseWechatXml(pair.xml)).toStrictEqual(pair.expected);
    expect(isWechatMessage(fromJson)).toBe(true);
  });

  it('gives the typed shapes a handler narrows through MsgType and Event', () => {
    const describe = (message: MiniProgramMessage): string => {
      switch (message.MsgType) {
        case 'text':
          return `text:${message.Content}`;
        case 'image':
          return `image:${message.MediaId}`;
        case 'miniprogrampage':
          return `card:${message.AppId}${message.PagePath}`;
        case 'event':
          switch (message.Event) {
            case 'user_enter_tempsession':
              return `enter:${message.SessionFrom}`;
            case 'subscribe_msg_popup_event':
              return `popup:${message.SubscribeMsgPopupEvent.List.map((e) => e.SubscribeStatusString).join()}`;
            case 'subscribe_msg_change_event':
              return `change:${message.SubscribeMsgChangeEvent.List.length}`;
            case 'subscribe_msg_sent_event':
              return `sent:${message.SubscribeMsgSentEvent.List[0]?.MsgID}`;
            case 'wxa_media_check':
              return `check:${message.trace_id}:${message.result?.suggest}`;
            case 'debug_demo':
              return `debug:${message.debug_str}`;
          }
      }
    };
    const described = DOC_PAIRS.map((pair) => describe(parseWechatJson(pair.json) as MiniProgramMessage));
    expect(described).toEqual([
      'text:this is a test',
      'image:media_id',
      'card:appidpath',
      'enter:sessionFrom',
      'popup:accept',
      'popup:accept,reject',
      'change:1',
      'sent:1864323726461255680',
      'check:60f96f1d-3845297a-1976a3ae:pass',
    ]);
    expect(describe(parseWechatJson(DOC.plain.body) as MiniProgramMessage)).toBe('debug:hello world');
    expect(messageKind(parseWechatJson(DOC_PAIRS[3]!.json) as MiniProgramMessage)).toEqual({
      type: 'event',
      event: 'user_enter_tempsession',
    });
    const sent = parseWechatJson(DOC_PAIRS[7]!.json) as SubscribeMsgSentEvent;
    expect(sent.SubscribeMsgSentEvent.List[0]?.ErrorCode).toBe('0');
    const check = parseWechatJson(DOC_PAIRS[8]!.json) as WxaMediaCheckEvent;
    expect(check.detail).toEqual({
      strategy: 'content_model',
      errcode: '0',
      suggest: 'pass',
      label: '100',
      prob: '90',
    });
  });

  it('keeps a 64-bit MsgId beyond 2^53 exact, where JSON.parse rounds it', () => {
    const json =
      '{"ToUserName":"gh_a","FromUserName":"o_b","CreateTime":1714037059,"MsgType":"text","Content":"x","MsgId":18446744073709551615}';
    expect(parseWechatJson(json).MsgId).toBe('18446744073709551615');
    expect(String((JSON.parse(json) as { MsgId: number }).MsgId)).not.toBe('18446744073709551615');
    expect(parseWechatJson('{"MsgId":9007199254740993}').MsgId).toBe('9007199254740993');
  });

  it('keeps every number as written, and booleans and null as XML would carry them', () => {
    expect(
      parseWechatJson('{"a":-0,"b":1.50,"c":1e3,"d":2E-7,"e":true,"f":false,"g":null,"h":{},"i":[],"j":""}'),
    ).toStrictEqual({ a: '-0', b: '1.50', c: '1e3', d: '2E-7', e: 'true', f: 'false', g: '', h: '', j: '' });
  });

  it('decodes every JSON escape, surrogate pairs included', () => {
    expect(parseWechatJson(String.raw`{"Content":"a\"b\\c\/d\b\f\n\r\t\u4e2d\uD83D\uDE00 😀"}`).Content).toBe(
      'a"b\\c/d\b\f\n\r\t中😀 😀',
    );
  });

  it('lays arrays out as repeated XML elements: absent, the entry, or an array; item always an array', () => {
    expect(
      parseWechatJson(
        '{"none":[],"one":[{"a":"1"}],"two":["x","y"],"nested":{"item":{"PicMd5Sum":"m"}},"pics":{"item":[]},' +
          '"deep":[["p","q"],[]]}',
      ),
    ).toStrictEqual({
      one: { a: '1' },
      two: ['x', 'y'],
      nested: { item: [{ PicMd5Sum: 'm' }] },
      pics: '',
      deep: ['p', 'q'],
    });
  });

  it('keeps a List already inside its container, and leaves List alone on other events', () => {
    expect(
      parseWechatJson(
        '{"MsgType":"event","Event":"subscribe_msg_sent_event","SubscribeMsgSentEvent":{"List":{"MsgID":"1"}}}',
      ),
    ).toStrictEqual({
      MsgType: 'event',
      Event: 'subscribe_msg_sent_event',
      SubscribeMsgSentEvent: { List: [{ MsgID: '1' }] },
    });
    expect(parseWechatJson('{"MsgType":"event","Event":"other","List":{"a":"1"}}')).toStrictEqual({
      MsgType: 'event',
      Event: 'other',
      List: { a: '1' },
    });
    expect(parseWechatJson('{"MsgType":"event","Event":"constructor","List":{"a":"1"}}').List).toEqual({
      a: '1',
    });
  });

  it('accepts the compatible-mode body: the plaintext fields and Encrypt side by side', () => {
    expect(
      parseWechatJson('{"ToUserName":"gh_a","MsgType":"event","Event":"x","Encrypt":"QUJD"}'),
    ).toStrictEqual({
      ToUserName: 'gh_a',
      MsgType: 'event',
      Event: 'x',
      Encrypt: 'QUJD',
    });
  });
});

describe('format equivalence: the same messages as XML and as JSON', () => {
  /** mulberry32: a seeded generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** A message as a tree: a leaf is text or a number, a node has children, a list is one element repeated. */
  type Leaf = { text: string } | { number: string };
  type Node = { children: [string, Tree][] };
  type List = { repeats: Tree[] };
  type Tree = Leaf | Node | List;

  const NAMES = ['Content', 'Title', 'item', 'List', 'Count', 'A', 'b_c', 'x-y', 'Label', 'MsgID', 'Result'];
  const PIECES = [
    'a',
    ' ',
    '\n',
    '&',
    '<',
    '>',
    ']]>',
    '"',
    '\\',
    '中文',
    '😀',
    "'",
    '/',
    '\u00a0',
    '0',
    '\t',
  ];

  function generate(next: () => number): [string, Tree][] {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const leaf = (): Leaf => {
      if (next() < 0.3) {
        const digits = String(1 + Math.floor(next() * 10 ** (1 + Math.floor(next() * 9))));
        // some ids past 2^53, as MsgId is
        return { number: next() < 0.2 ? `${digits}${'9'.repeat(12)}` : digits };
      }
      let text = '';
      const length = Math.floor(next() * 6);
      for (let i = 0; i < length; i++) text += pick(PIECES);
      return { text };
    };
    const tree = (depth: number): Tree => {
      const roll = next();
      if (depth < 4 && roll < 0.2) return { children: children(depth + 1) };
      if (depth < 4 && roll < 0.3) {
        const repeats: Tree[] = [];
        const count = 1 + Math.floor(next() * 3);
        for (let i = 0; i < count; i++)
          repeats.push(next() < 0.5 ? leaf() : { children: children(depth + 1) });
        return { repeats };
      }
      return leaf();
    };
    const children = (depth: number): [string, Tree][] => {
      const names = new Set<string>();
      const count = Math.floor(next() * 4);
      for (let i = 0; i < count; i++) names.add(pick(NAMES));
      return [...names].map((name) => [name, tree(depth)]);
    };
    const head: [string, Tree][] = [
      ['ToUserName', { text: 'gh_97417a04a28d' }],
      ['FromUserName', { text: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY' }],
      ['CreateTime', { number: '1714112445' }],
      ['MsgType', { text: pick(['text', 'event', 'miniprogrampage']) }],
    ];
    return [...head, ...children(1).filter(([name]) => !head.some(([taken]) => taken === name))];
  }

  function toXml(children: [string, Tree][]): string {
    const element = (name: string, tree: Tree): string => {
      if ('repeats' in tree) return tree.repeats.map((entry) => element(name, entry)).join('\n');
      if ('children' in tree)
        return `<${name}>${tree.children.map(([n, t]) => element(n, t)).join('')}</${name}>`;
      if ('number' in tree) return `<${name}>${tree.number}</${name}>`;
      return `<${name}>${renderCdata(tree.text)}</${name}>`;
    };
    return `<xml>\n${children.map(([name, tree]) => element(name, tree)).join('\n')}\n</xml>`;
  }

  function toJson(children: [string, Tree][], next: () => number): string {
    const value = (tree: Tree): string => {
      if ('repeats' in tree) {
        const entries = tree.repeats.map(value);
        // a single entry may come as the entry itself or as an array of one: both are how WeChat writes lists
        return entries.length === 1 && next() < 0.5 ? entries[0]! : `[${entries.join(', ')}]`;
      }
      if ('children' in tree) {
        return tree.children.length === 0 && next() < 0.5 ? 'null' : object(tree.children);
      }
      // a number may be written bare or quoted ("CreateTime": "1620973045" in the docs' examples)
      if ('number' in tree) return next() < 0.7 ? tree.number : `"${tree.number}"`;
      return JSON.stringify(tree.text);
    };
    const object = (members: [string, Tree][]): string =>
      `{${members.map(([name, tree]) => `${JSON.stringify(name)}: ${value(tree)}`).join(',\n ')}}`;
    return object(children);
  }

  const onlyStringLeaves = (value: unknown): boolean =>
    typeof value === 'string' ||
    (Array.isArray(value)
      ? value.every(onlyStringLeaves)
      : value !== null &&
        typeof value === 'object' &&
        Object.getPrototypeOf(value) === Object.prototype &&
        Object.values(value).every(onlyStringLeaves));

  it('gives deep-equal messages for 5,000 generated messages, every leaf a string', () => {
    const next = random(20261207);
    let nested = 0;
    for (let i = 0; i < 5000; i++) {
      const message = generate(next);
      const xml = toXml(message);
      const json = toJson(message, next);
      const fromXml = parseWechatXml(xml);
      const fromJson = parseWechatJson(json);
      if (JSON.stringify(fromXml) !== JSON.stringify(fromJson)) {
        // one readable failure instead of thousands of expect calls
        expect({ xml, json, fromJson }).toStrictEqual({ xml, json, fromJson: fromXml });
      }
      if (Object.values(fromJson).some((v) => typeof v !== 'string')) nested++;
      if (!onlyStringLeaves(fromJson)) expect({ json, fromJson }).toBe('every leaf a string');
    }
    // the generator does reach nested elements and lists, not only flat messages
    expect(nested).toBeGreaterThan(1000);
  });

  it('gives deep-equal messages for the documented pushes in both formats', () => {
    for (const pair of DOC_PAIRS) expect(parseWechatJson(pair.json)).toStrictEqual(parseWechatXml(pair.xml));
  });
});

describe('parseWechatJson: bad input', () => {
  const refuse = (body: string, reason: RegExp) => {
    let error: unknown;
    try {
      parseWechatJson(body);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MalformedJsonError);
    expect((error as MalformedJsonError).reason).toMatch(reason);
    return error as MalformedJsonError;
  };

  it.each([
    ['an empty body', '', /top level is not an object/],
    ['whitespace only', ' \n\t', /top level is not an object/],
    ['an array at the top', '[{"MsgType":"text"}]', /top level is not an object/],
    ['a string at the top', '"text"', /top level is not an object/],
    ['a number at the top', '12', /top level is not an object/],
    ['null at the top', 'null', /top level is not an object/],
    ['XML', '<xml><MsgType>text</MsgType></xml>', /top level is not an object/],
    ['a byte-order mark', '\ufeff{"a":"b"}', /top level is not an object/],
    ['an unclosed object', '{"a":"b"', /expected "," or "}"/],
    ['an unclosed string', '{"a":"b}', /string is not closed/],
    ['a missing colon', '{"a" "b"}', /expected ":"/],
    ['a missing value', '{"a":}', /unexpected character/],
    ['a trailing comma in an object', '{"a":"b",}', /expected a key/],
    ['a trailing comma in an array', '{"a":["b",]}', /unexpected character/],
    ['a single-quoted string', "{'a':'b'}", /expected a key/],
    ['an unquoted key', '{a:"b"}', /expected a key/],
    ['a comment', '{"a":"b" /* c */}', /expected "," or "}"/],
    ['text after the object', '{"a":"b"} {"c":"d"}', /text after the top-level object/],
    ['a leading zero', '{"MsgId":0123}', /expected "," or "}"/],
    ['a leading plus', '{"MsgId":+1}', /unexpected character/],
    ['a bare decimal point', '{"a":1.}', /expected "," or "}"/],
    ['NaN', '{"a":NaN}', /unexpected character/],
    ['Infinity', '{"a":-Infinity}', /invalid number/],
    ['a hex number', '{"a":0x10}', /expected "," or "}"/],
    ['a misspelled literal', '{"a":tru}', /unexpected character/],
    ['a raw newline inside a string', '{"a":"b\nc"}', /control character/],
    ['a raw NUL inside a string', '{"a":"b\u0000c"}', /control character/],
    ['an invalid escape', String.raw`{"a":"\x41"}`, /invalid escape/],
    ['a short \\u escape', String.raw`{"a":"\u12"}`, /invalid \\u escape/],
    ['a lone high surrogate escape', String.raw`{"a":"\uD83D"}`, /lone surrogate/],
    ['a lone low surrogate escape', String.raw`{"a":"x\uDE00y"}`, /lone surrogate/],
    ['a body cut short', '{"a":', /ends too early/],
  ])('refuses %s', (_name, body, reason) => {
    refuse(body, reason);
  });

  it('refuses duplicate keys, at the top, nested, and spelled with an escape', () => {
    refuse('{"MsgId":1,"MsgId":2}', /duplicate key/);
    refuse('{"a":{"b":"1","c":"2","b":"3"}}', /duplicate key/);
    refuse(String.raw`{"MsgType":"text","\u004dsgType":"event"}`, /duplicate key/);
    refuse('{"a":[{"b":"1","b":"1"}]}', /duplicate key/);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses the key %s anywhere, however spelled',
    (key) => {
      const escaped = `\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${key.slice(1)}`;
      for (const body of [
        `{"${key}":{"polluted":"yes"}}`,
        `{"a":{"${key}":{"polluted":"yes"}}}`,
        `{"a":[{"b":"c"},{"${key}":"x"}]}`,
        `{"${escaped}":{"polluted":"yes"}}`,
      ]) {
        refuse(body, new RegExp(`reserved key "${key}"`));
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it('refuses nesting deeper than 16 levels, objects and arrays alike, and accepts 16', () => {
    const objects = (levels: number) => '{"a":'.repeat(levels - 1) + '{"b":"c"}' + '}'.repeat(levels - 1);
    expect(() => parseWechatJson(objects(JSON_PUSH_LIMITS.maxDepth))).not.toThrow();
    refuse(objects(JSON_PUSH_LIMITS.maxDepth + 1), /nesting deeper than 16 levels/);
    const arrays = (levels: number) =>
      '{"a":' + '['.repeat(levels - 1) + '"x"' + ']'.repeat(levels - 1) + '}';
    expect(() => parseWechatJson(arrays(JSON_PUSH_LIMITS.maxDepth))).not.toThrow();
    refuse(arrays(JSON_PUSH_LIMITS.maxDepth + 1), /nesting deeper than 16 levels/);
    // a hostile depth fails at once instead of exhausting the stack
    refuse('{"a":' + '['.repeat(100_000), /nesting deeper than 16 levels/);
  });

  it('refuses numbers and strings past their bounds, and accepts them at the bound', () => {
    const digits = (n: number) => '9'.repeat(n);
    expect(parseWechatJson(`{"MsgId":${digits(JSON_PUSH_LIMITS.maxNumberChars)}}`).MsgId).toBe(
      digits(JSON_PUSH_LIMITS.maxNumberChars),
    );
    refuse(`{"MsgId":${digits(JSON_PUSH_LIMITS.maxNumberChars + 1)}}`, /number longer than 32 characters/);
    refuse(`{"a":1e${digits(400)}}`, /number longer than 32 characters/);
    refuse(`{"a":0.${digits(1000)}}`, /number longer than 32 characters/);
    const long = 'x'.repeat(JSON_PUSH_LIMITS.maxStringChars);
    expect(parseWechatJson(`{"Content":"${long}"}`).Content).toBe(long);
    refuse(`{"Content":"${long}y"}`, /string longer than 65536 characters/);
    refuse(`{"${long}y":"key"}`, /string longer than 65536 characters/);
  });

  it('refuses what is not text', () => {
    expect(() => parseWechatJson(Buffer.from('{}') as unknown as string)).toThrow(MalformedJsonError);
    expect(() => parseWechatJson(undefined as unknown as string)).toThrow(MalformedJsonError);
  });

  it('never quotes the body in the error, and says where reading stopped', () => {
    const secret = 'user-typed-secret-123';
    const error = refuse(`{"Content":"${secret}","Content":"${secret}"}`, /duplicate key/);
    expect(error.message).not.toContain(secret);
    expect(error.message).toBe('malformed callback JSON: a duplicate key (at offset 35)');
    expect(refuse(`{"Content":"${secret}" x`, /expected/).message).not.toContain(secret);
  });
});

describe('replies of a JSON-format account', () => {
  const to = { toUser: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY', fromUser: 'gh_97417a04a28d', createTime: 1714112445 };

  it('answers a transfer to customer service passively, as JSON with the ids swapped', () => {
    expect(renderPassiveJsonReply(transferToCustomerService(), to)).toBe(
      '{"ToUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","FromUserName":"gh_97417a04a28d","CreateTime":1714112445,' +
        '"MsgType":"transfer_customer_service"}',
    );
    // a named agent has no field in a Mini Program's transfer
    expect(JSON.parse(renderPassiveJsonReply(transferToCustomerService('kf@x'), to)!)).not.toHaveProperty(
      'TransInfo',
    );
  });

  it('has no passive answer for any other reply: success now, the customer-service API later', () => {
    expect(renderPassiveJsonReply(text('hello'), to)).toBeNull();
    expect(renderPassiveJsonReply(null, to)).toBeNull();
  });

  it('encrypts the transfer in the JSON reply envelope, which opens back to it', () => {
    const crypto = docCrypto();
    const reply = renderPassiveJsonReply(transferToCustomerService(), to)!;
    const envelope = JSON.parse(encryptedJsonReply(crypto, reply, '1714112445', '415670741')) as Record<
      string,
      unknown
    >;
    expect(envelope.TimeStamp).toBe(1714112445);
    expect(envelope.Nonce).toBe('415670741');
    expect(envelope.MsgSignature).toBe(
      crypto.signEncrypted('1714112445', '415670741', envelope.Encrypt as string),
    );
    expect(crypto.decryptFor(envelope.Encrypt as string)).toBe(reply);
  });

  it('refuses a createTime that is not whole seconds', () => {
    expect(() => renderPassiveJsonReply(transferToCustomerService(), { ...to, createTime: 1.5 })).toThrow(
      RangeError,
    );
  });
});
