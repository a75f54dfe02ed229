import {
  image,
  miniProgramPage,
  music,
  news,
  normalizeReply,
  renderReplyXml,
  replyToCustomerServiceMessage,
  replyToMiniProgramCustomerServiceMessage,
  text,
  transferToCustomerService,
  video,
  voice,
  type WechatReply,
} from './wechat-reply';
import { parseWechatXml } from './wechat-xml';

const OPENID = 'oFOvYt5mZ0Yx6vLQ2B3rKcG8a1Hs';
const ACCOUNT = 'gh_9f2c3e5a7b10';
const TO = { toUser: OPENID, fromUser: ACCOUNT, createTime: 1700000123 };
const HEAD =
  `<xml><ToUserName><![CDATA[${OPENID}]]></ToUserName><FromUserName><![CDATA[${ACCOUNT}]]></FromUserName>` +
  `<CreateTime>1700000123</CreateTime>`;

const ARTICLE = {
  title: '标题一',
  description: '描述',
  picUrl: 'https://mmbiz.qpic.cn/a.jpg',
  url: 'https://mp.weixin.qq.com/s/a?x=1&y=2',
};

const PAGE = { title: '门店', pagePath: 'pages/shop/index?id=7&from=cs', thumbMediaId: 'thumb-1' };

describe('reply builders', () => {
  it('build plain reply objects discriminated by kind', () => {
    expect(text('你好')).toStrictEqual({ kind: 'text', content: '你好' });
    expect(image('img-1')).toStrictEqual({ kind: 'image', mediaId: 'img-1' });
    expect(voice('voice-1')).toStrictEqual({ kind: 'voice', mediaId: 'voice-1' });
    expect(video({ mediaId: 'v-1' })).toStrictEqual({ kind: 'video', mediaId: 'v-1' });
    expect(video({ mediaId: 'v-1', title: 'T', description: 'D' })).toStrictEqual({
      kind: 'video',
      mediaId: 'v-1',
      title: 'T',
      description: 'D',
    });
    expect(music({ thumbMediaId: 'th-1', musicUrl: 'https://m/a.mp3' })).toStrictEqual({
      kind: 'music',
      thumbMediaId: 'th-1',
      musicUrl: 'https://m/a.mp3',
    });
    expect(news([{ title: 'A', url: 'https://a' }])).toStrictEqual({
      kind: 'news',
      articles: [{ title: 'A', url: 'https://a' }],
    });
    expect(transferToCustomerService()).toStrictEqual({ kind: 'transfer_customer_service' });
    expect(transferToCustomerService('kf2001@gh_test')).toStrictEqual({
      kind: 'transfer_customer_service',
      kfAccount: 'kf2001@gh_test',
    });
    expect(miniProgramPage(PAGE)).toStrictEqual({ kind: 'miniprogrampage', ...PAGE });
  });

  it('miniProgramPage keeps only the card fields, so a stray kind cannot turn it into another reply', () => {
    const options = { ...PAGE, kind: 'text', content: 'x' } as typeof PAGE;
    expect(miniProgramPage(options)).toStrictEqual({ kind: 'miniprogrampage', ...PAGE });
  });

  it('news takes 1 to 8 articles and throws RangeError otherwise', () => {
    expect(news(Array.from({ length: 8 }, (_, i) => ({ title: `t${i}` }))).articles).toHaveLength(8);
    expect(() => news([])).toThrow(RangeError);
    expect(() => news(Array.from({ length: 9 }, (_, i) => ({ title: `t${i}` })))).toThrow(RangeError);
  });

  it('news copies the articles, so later changes to the caller’s array do not leak in', () => {
    const articles = [{ title: 'A' }];
    const reply = news(articles);
    articles.push({ title: 'B' });
    articles[0]!.title = 'changed';
    expect(reply.articles).toEqual([{ title: 'A' }]);
  });

  it('reject wrong field types from untyped callers with TypeError', () => {
    expect(() => text(42 as unknown as string)).toThrow(TypeError);
    expect(() => image(undefined as unknown as string)).toThrow(TypeError);
    expect(() => music({} as { thumbMediaId: string })).toThrow(TypeError);
    expect(() => news([{ title: 1 } as unknown as { title: string }])).toThrow(TypeError);
    expect(() => news('x' as unknown as [])).toThrow(TypeError);
    expect(() => transferToCustomerService(7 as unknown as string)).toThrow(TypeError);
    for (const name of ['title', 'pagePath', 'thumbMediaId'] as const) {
      expect(() => miniProgramPage({ ...PAGE, [name]: undefined as unknown as string })).toThrow(
        new TypeError(`a miniprogrampage reply needs ${name} as a string`),
      );
    }
  });
});

describe('renderReplyXml', () => {
  it.each<[string, WechatReply, string]>([
    ['text', text('你好'), '<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>'],
    [
      'image',
      image('img-1'),
      '<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[img-1]]></MediaId></Image>',
    ],
    [
      'voice',
      voice('voice-1'),
      '<MsgType><![CDATA[voice]]></MsgType><Voice><MediaId><![CDATA[voice-1]]></MediaId></Voice>',
    ],
    [
      'video with title and description',
      video({ mediaId: 'v-1', title: '视频', description: '说明' }),
      '<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[v-1]]></MediaId>' +
        '<Title><![CDATA[视频]]></Title><Description><![CDATA[说明]]></Description></Video>',
    ],
    [
      'video with the media only',
      video({ mediaId: 'v-1' }),
      '<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[v-1]]></MediaId></Video>',
    ],
    [
      'music with every field',
      music({
        title: '歌',
        description: '描述',
        musicUrl: 'https://m/a.mp3',
        hqMusicUrl: 'https://m/a-hq.mp3',
        thumbMediaId: 'th-1',
      }),
      '<MsgType><![CDATA[music]]></MsgType><Music><Title><![CDATA[歌]]></Title>' +
        '<Description><![CDATA[描述]]></Description><MusicUrl><![CDATA[https://m/a.mp3]]></MusicUrl>' +
        '<HQMusicUrl><![CDATA[https://m/a-hq.mp3]]></HQMusicUrl><ThumbMediaId><![CDATA[th-1]]></ThumbMediaId></Music>',
    ],
    [
      'music with the thumbnail only',
      music({ thumbMediaId: 'th-1' }),
      '<MsgType><![CDATA[music]]></MsgType><Music><ThumbMediaId><![CDATA[th-1]]></ThumbMediaId></Music>',
    ],
    [
      'news with one full article',
      news([ARTICLE]),
      '<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles><item>' +
        '<Title><![CDATA[标题一]]></Title><Description><![CDATA[描述]]></Description>' +
        '<PicUrl><![CDATA[https://mmbiz.qpic.cn/a.jpg]]></PicUrl>' +
        '<Url><![CDATA[https://mp.weixin.qq.com/s/a?x=1&y=2]]></Url></item></Articles>',
    ],
    [
      'news with two articles, the second with a title only',
      news([ARTICLE, { title: 'B' }]),
      '<MsgType><![CDATA[news]]></MsgType><ArticleCount>2</ArticleCount><Articles><item>' +
        '<Title><![CDATA[标题一]]></Title><Description><![CDATA[描述]]></Description>' +
        '<PicUrl><![CDATA[https://mmbiz.qpic.cn/a.jpg]]></PicUrl>' +
        '<Url><![CDATA[https://mp.weixin.qq.com/s/a?x=1&y=2]]></Url></item>' +
        '<item><Title><![CDATA[B]]></Title></item></Articles>',
    ],
    [
      'transfer to customer service',
      transferToCustomerService(),
      '<MsgType><![CDATA[transfer_customer_service]]></MsgType>',
    ],
    [
      'transfer to one agent',
      transferToCustomerService('kf2001@gh_test'),
      '<MsgType><![CDATA[transfer_customer_service]]></MsgType>' +
        '<TransInfo><KfAccount><![CDATA[kf2001@gh_test]]></KfAccount></TransInfo>',
    ],
  ])('renders %s exactly as WeChat expects', (_name, reply, body) => {
    expect(renderReplyXml(reply, TO)).toBe(`${HEAD}${body}</xml>`);
  });

  it('renders a hand-built reply object like a built one', () => {
    const reply: WechatReply = { kind: 'text', content: 'hi' };
    expect(renderReplyXml(reply, TO)).toBe(renderReplyXml(text('hi'), TO));
  });

  it('addresses the reply with the ids it is given', () => {
    const message = parseWechatXml(renderReplyXml(text('x'), TO));
    expect(message).toStrictEqual({
      ToUserName: OPENID,
      FromUserName: ACCOUNT,
      CreateTime: '1700000123',
      MsgType: 'text',
      Content: 'x',
    });
  });

  it('round-trips content containing "]]>" through render and parse', () => {
    const content = 'look: <![CDATA[ nested ]]> and ]]]]> too';
    const xml = renderReplyXml(text(content), TO);
    expect(xml).not.toContain(`${content}]]>`);
    expect(parseWechatXml(xml).Content).toBe(content);
  });

  it('produces well-formed XML for every kind that parses back to the same fields', () => {
    const parsed = parseWechatXml(
      renderReplyXml(music({ title: 'a]]>b', thumbMediaId: 'th', hqMusicUrl: 'https://x/?a=1&b=2' }), TO),
    );
    expect(parsed.Music).toStrictEqual({
      Title: 'a]]>b',
      HQMusicUrl: 'https://x/?a=1&b=2',
      ThumbMediaId: 'th',
    });
    const newsParsed = parseWechatXml(renderReplyXml(news([ARTICLE, { title: 'B' }]), TO));
    expect(newsParsed.ArticleCount).toBe('2');
    expect(newsParsed.Articles).toStrictEqual({
      item: [
        { Title: ARTICLE.title, Description: ARTICLE.description, PicUrl: ARTICLE.picUrl, Url: ARTICLE.url },
        { Title: 'B' },
      ],
    });
  });

  it.each([1.5, -1, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('refuses createTime %p', (createTime) => {
    expect(() => renderReplyXml(text('x'), { ...TO, createTime })).toThrow(RangeError);
  });

  it('refuses a hand-built reply of the wrong shape', () => {
    expect(() => renderReplyXml({ kind: 'text' } as unknown as WechatReply, TO)).toThrow(TypeError);
    expect(() => renderReplyXml({ kind: 'news', articles: [] }, TO)).toThrow(RangeError);
    expect(() => renderReplyXml({ kind: 'mpnews' } as unknown as WechatReply, TO)).toThrow(TypeError);
  });

  it('refuses a Mini Program card, which has no passive form', () => {
    expect(() => renderReplyXml(miniProgramPage(PAGE), TO)).toThrow(
      /miniprogrampage reply has no passive form/,
    );
  });
});

describe('normalizeReply', () => {
  it('treats undefined, null and an empty string as no reply (success)', () => {
    expect(normalizeReply(undefined)).toBeNull();
    expect(normalizeReply(null)).toBeNull();
    expect(normalizeReply('')).toBeNull();
  });

  it('makes a string a text reply', () => {
    expect(normalizeReply('收到')).toStrictEqual({ kind: 'text', content: '收到' });
    expect(normalizeReply(' ')).toStrictEqual({ kind: 'text', content: ' ' });
  });

  it('returns a reply object as is', () => {
    for (const reply of [
      text('a'),
      image('i'),
      voice('v'),
      video({ mediaId: 'm' }),
      music({ thumbMediaId: 't' }),
      news([ARTICLE]),
      transferToCustomerService(),
      miniProgramPage(PAGE),
      { kind: 'text', content: 'hand-built' },
    ]) {
      expect(normalizeReply(reply)).toBe(reply);
    }
  });

  it.each<[string, unknown]>([
    ['a number', 42],
    ['a boolean', true],
    ['an array', ['a']],
    ['a plain object', { content: 'x' }],
    ['an unknown kind', { kind: 'mpnews', mediaId: 'x' }],
    ['a text reply without content', { kind: 'text' }],
    ['a music reply without thumbnail', { kind: 'music', title: 'x' }],
    ['an image reply with a numeric id', { kind: 'image', mediaId: 5 }],
    ['a Mini Program card without its page', { kind: 'miniprogrampage', title: 't', thumbMediaId: 'm' }],
    ['a promise', Promise.resolve('x')],
    ['a function', () => 'x'],
    ['a symbol', Symbol('x')],
  ])('throws TypeError for %s', (_name, value) => {
    expect(() => normalizeReply(value)).toThrow(TypeError);
  });

  it('throws RangeError for a hand-built news reply with too many articles', () => {
    const articles = Array.from({ length: 9 }, () => ({ title: 't' }));
    expect(() => normalizeReply({ kind: 'news', articles })).toThrow(RangeError);
  });
});

describe('replyToCustomerServiceMessage', () => {
  it.each<[string, WechatReply, object]>([
    ['text', text('你好'), { msgtype: 'text', text: { content: '你好' } }],
    ['image', image('img-1'), { msgtype: 'image', image: { media_id: 'img-1' } }],
    ['voice', voice('voice-1'), { msgtype: 'voice', voice: { media_id: 'voice-1' } }],
    [
      'video',
      video({ mediaId: 'v-1', title: 'T', description: 'D' }),
      { msgtype: 'video', video: { media_id: 'v-1', title: 'T', description: 'D' } },
    ],
    [
      'video without title and description',
      video({ mediaId: 'v-1' }),
      { msgtype: 'video', video: { media_id: 'v-1', title: '', description: '' } },
    ],
    [
      'music',
      music({
        title: 'S',
        description: 'D',
        musicUrl: 'https://m/a',
        hqMusicUrl: 'https://m/hq',
        thumbMediaId: 'th',
      }),
      {
        msgtype: 'music',
        music: {
          title: 'S',
          description: 'D',
          musicurl: 'https://m/a',
          hqmusicurl: 'https://m/hq',
          thumb_media_id: 'th',
        },
      },
    ],
    [
      'music with the thumbnail only',
      music({ thumbMediaId: 'th' }),
      {
        msgtype: 'music',
        music: { title: '', description: '', musicurl: '', hqmusicurl: '', thumb_media_id: 'th' },
      },
    ],
    [
      'news',
      news([ARTICLE, { title: 'B' }]),
      {
        msgtype: 'news',
        news: {
          articles: [
            {
              title: ARTICLE.title,
              description: ARTICLE.description,
              url: ARTICLE.url,
              picurl: ARTICLE.picUrl,
            },
            { title: 'B', description: '', url: '', picurl: '' },
          ],
        },
      },
    ],
  ])('gives the custom/send body for %s', (_name, reply, body) => {
    expect(replyToCustomerServiceMessage(reply, OPENID)).toStrictEqual({ touser: OPENID, ...body });
  });

  it('has no body for a transfer to customer service', () => {
    expect(replyToCustomerServiceMessage(transferToCustomerService('kf@x'), OPENID)).toBeNull();
    expect(replyToCustomerServiceMessage(transferToCustomerService(), OPENID)).toBeNull();
  });

  it("has no body for a Mini Program card (an Official Account's names the Mini Program)", () => {
    expect(replyToCustomerServiceMessage(miniProgramPage(PAGE), OPENID)).toBeNull();
  });
});

describe('replyToMiniProgramCustomerServiceMessage', () => {
  it.each<[string, WechatReply, object]>([
    ['text', text('你好'), { msgtype: 'text', text: { content: '你好' } }],
    ['image', image('img-1'), { msgtype: 'image', image: { media_id: 'img-1' } }],
    [
      'a Mini Program card',
      miniProgramPage(PAGE),
      {
        msgtype: 'miniprogrampage',
        miniprogrampage: {
          title: '门店',
          pagepath: 'pages/shop/index?id=7&from=cs',
          thumb_media_id: 'thumb-1',
        },
      },
    ],
    [
      'a one-article news as a link card',
      news([ARTICLE]),
      {
        msgtype: 'link',
        link: {
          title: ARTICLE.title,
          description: ARTICLE.description,
          url: ARTICLE.url,
          thumb_url: ARTICLE.picUrl,
        },
      },
    ],
  ])('gives the custom/send body for %s', (_name, reply, body) => {
    expect(replyToMiniProgramCustomerServiceMessage(reply, OPENID)).toStrictEqual({
      touser: OPENID,
      ...body,
    });
  });

  it.each<[string, WechatReply]>([
    ['voice', voice('voice-1')],
    ['music', music({ thumbMediaId: 'th' })],
    ['news of two articles', news([ARTICLE, { title: 'B' }])],
    ['a transfer to customer service', transferToCustomerService()],
  ])('has no body for %s', (_name, reply) => {
    expect(replyToMiniProgramCustomerServiceMessage(reply, OPENID)).toBeNull();
  });
});
