import { renderCdata } from './wechat-xml';

/** A text reply. */
export interface TextReply {
  kind: 'text';
  content: string;
}

/** An image reply; `mediaId` is an uploaded (temporary or permanent) material. */
export interface ImageReply {
  kind: 'image';
  mediaId: string;
}

/** A voice reply; `mediaId` is an uploaded material. */
export interface VoiceReply {
  kind: 'voice';
  mediaId: string;
}

/** A video reply; `mediaId` is an uploaded material. */
export interface VideoReply {
  kind: 'video';
  mediaId: string;
  title?: string;
  description?: string;
}

/** A music reply; the thumbnail is an uploaded material. */
export interface MusicReply {
  kind: 'music';
  title?: string;
  description?: string;
  musicUrl?: string;
  /** The high-quality URL, used on Wi-Fi. */
  hqMusicUrl?: string;
  thumbMediaId: string;
}

/** One article of a news reply. */
export interface NewsArticle {
  title: string;
  description?: string;
  picUrl?: string;
  url?: string;
}

/** A news (article card) reply with 1 to 8 articles. */
export interface NewsReply {
  kind: 'news';
  articles: NewsArticle[];
}

/** Hands the conversation to the customer-service system, optionally to one agent (`name@account`). */
export interface TransferCustomerServiceReply {
  kind: 'transfer_customer_service';
  kfAccount?: string;
}

/**
 * A Mini Program card (小程序卡片), for Mini Program pushes only: sent through the customer-service API, it opens
 * `pagePath` of the Mini Program.
 */
export interface MiniProgramPageReply {
  kind: 'miniprogrampage';
  title: string;
  /** A page as in app.json, query allowed: `pages/index/index?foo=bar`. */
  pagePath: string;
  /** The cover: the `media_id` of an image uploaded as temporary media (520×416 suggested). */
  thumbMediaId: string;
}

/**
 * A reply, discriminated by `kind`: the reply's `MsgType`, or for a Mini Program card (which has no passive form)
 * its customer-service `msgtype`.
 */
export type WechatReply =
  | TextReply
  | ImageReply
  | VoiceReply
  | VideoReply
  | MusicReply
  | NewsReply
  | TransferCustomerServiceReply
  | MiniProgramPageReply;

/** The most articles WeChat accepts in one news reply. */
export const MAX_NEWS_ARTICLES = 8;

type Fields = Record<string, unknown>;

function requireString(fields: Fields, name: string, what: string): void {
  if (typeof fields[name] !== 'string') throw new TypeError(`${what} needs ${name} as a string`);
}

function optionalString(fields: Fields, name: string, what: string): void {
  const value = fields[name];
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`${what} has ${name}, which must be a string when set`);
  }
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks the shape at run time too: handlers written in JavaScript (or with casts) reach here. */
function assertReply(value: unknown): asserts value is WechatReply {
  if (!isObject(value) || typeof value.kind !== 'string') {
    throw new TypeError('a reply is an object with a kind; build it with text(), image(), news(), …');
  }
  const what = `a ${value.kind} reply`;
  switch (value.kind) {
    case 'text':
      requireString(value, 'content', what);
      return;
    case 'image':
    case 'voice':
      requireString(value, 'mediaId', what);
      return;
    case 'video':
      requireString(value, 'mediaId', what);
      optionalString(value, 'title', what);
      optionalString(value, 'description', what);
      return;
    case 'music':
      requireString(value, 'thumbMediaId', what);
      for (const name of ['title', 'description', 'musicUrl', 'hqMusicUrl'])
        optionalString(value, name, what);
      return;
    case 'news': {
      const articles = value.articles;
      if (!Array.isArray(articles)) throw new TypeError(`${what} needs articles as an array`);
      if (articles.length < 1 || articles.length > MAX_NEWS_ARTICLES) {
        throw new RangeError(
          `a news reply holds 1 to ${MAX_NEWS_ARTICLES} articles (got ${articles.length})`,
        );
      }
      for (const article of articles as unknown[]) {
        if (!isObject(article)) throw new TypeError(`${what} has an article that is not an object`);
        requireString(article, 'title', 'a news article');
        for (const name of ['description', 'picUrl', 'url']) optionalString(article, name, 'a news article');
      }
      return;
    }
    case 'transfer_customer_service':
      optionalString(value, 'kfAccount', what);
      return;
    case 'miniprogrampage':
      for (const name of ['title', 'pagePath', 'thumbMediaId']) requireString(value, name, what);
      return;
    default:
      throw new TypeError('a reply has an unknown kind; build it with text(), image(), news(), …');
  }
}

/** The object without its undefined fields, so replies compare and serialize cleanly. */
function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

function checked<T extends WechatReply>(reply: T): T {
  assertReply(reply);
  return reply;
}

/** A text reply. */
export function text(content: string): TextReply {
  return checked({ kind: 'text', content });
}

/** An image reply with an uploaded material's `media_id`. */
export function image(mediaId: string): ImageReply {
  return checked({ kind: 'image', mediaId });
}

/** A voice reply with an uploaded material's `media_id`. */
export function voice(mediaId: string): VoiceReply {
  return checked({ kind: 'voice', mediaId });
}

/** A video reply with an uploaded material's `media_id`. */
export function video(options: { mediaId: string; title?: string; description?: string }): VideoReply {
  return checked(defined({ kind: 'video', ...options }));
}

/** A music reply; `thumbMediaId` is an uploaded thumbnail material. */
export function music(options: {
  title?: string;
  description?: string;
  musicUrl?: string;
  hqMusicUrl?: string;
  thumbMediaId: string;
}): MusicReply {
  return checked(defined({ kind: 'music', ...options }));
}

/**
 * A news reply. WeChat accepts 1 to 8 articles (and, for many accounts today, shows only the first).
 * @throws RangeError for no article or more than 8.
 */
export function news(articles: NewsArticle[]): NewsReply {
  if (!Array.isArray(articles)) throw new TypeError('news() takes an array of articles');
  return checked({ kind: 'news', articles: articles.map((article) => defined({ ...article })) });
}

/** Hands the conversation to customer service; `kfAccount` (`name@account`) picks one agent. */
export function transferToCustomerService(kfAccount?: string): TransferCustomerServiceReply {
  return checked(defined({ kind: 'transfer_customer_service', kfAccount }));
}

/**
 * A Mini Program card: answered `success` at once and sent as the customer-service message `miniprogrampage`.
 * Only a Mini Program push can be answered with one; an Official Account's is logged and dropped.
 */
export function miniProgramPage(options: {
  title: string;
  pagePath: string;
  thumbMediaId: string;
}): MiniProgramPageReply {
  const { title, pagePath, thumbMediaId } = options;
  return checked({ kind: 'miniprogrampage', title, pagePath, thumbMediaId });
}

/**
 * What a handler returned, as a reply. `undefined` and `null` give `null` (answer `success`, no reply); so does
 * an empty string, because WeChat treats an empty text reply as an error rather than as silence. Any other
 * string is a text reply; a reply object is returned as is, after a shape check.
 * @throws TypeError for anything else (a number, a plain object, an un-awaited promise, …);
 * RangeError for a news reply without articles or with more than 8.
 */
export function normalizeReply(value: unknown): WechatReply | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') return text(value);
  if (isObject(value) && typeof value.then === 'function') {
    throw new TypeError('a handler returned a promise-like value that was not awaited');
  }
  if (!isObject(value)) {
    throw new TypeError(`a handler must return nothing, a string or a reply object (got ${typeof value})`);
  }
  assertReply(value);
  return value;
}

/** Where a reply goes: the ids are already swapped (`toUser` = the incoming `FromUserName`). */
export interface ReplyAddress {
  /** The user's openid (the incoming `FromUserName`). */
  toUser: string;
  /** The account's original id, `gh_...` (the incoming `ToUserName`). */
  fromUser: string;
  /** Unix seconds. */
  createTime: number;
}

function element(name: string, text: string): string {
  return `<${name}>${renderCdata(text)}</${name}>`;
}

function optionalElement(name: string, text: string | undefined): string {
  return text === undefined ? '' : element(name, text);
}

function replyBody(reply: Exclude<WechatReply, MiniProgramPageReply>): string {
  switch (reply.kind) {
    case 'text':
      return element('Content', reply.content);
    case 'image':
      return `<Image>${element('MediaId', reply.mediaId)}</Image>`;
    case 'voice':
      return `<Voice>${element('MediaId', reply.mediaId)}</Voice>`;
    case 'video':
      return (
        `<Video>${element('MediaId', reply.mediaId)}${optionalElement('Title', reply.title)}` +
        `${optionalElement('Description', reply.description)}</Video>`
      );
    case 'music':
      return (
        `<Music>${optionalElement('Title', reply.title)}${optionalElement('Description', reply.description)}` +
        `${optionalElement('MusicUrl', reply.musicUrl)}${optionalElement('HQMusicUrl', reply.hqMusicUrl)}` +
        `${element('ThumbMediaId', reply.thumbMediaId)}</Music>`
      );
    case 'news': {
      const items = reply.articles.map(
        (article) =>
          `<item>${element('Title', article.title)}${optionalElement('Description', article.description)}` +
          `${optionalElement('PicUrl', article.picUrl)}${optionalElement('Url', article.url)}</item>`,
      );
      return `<ArticleCount>${reply.articles.length}</ArticleCount><Articles>${items.join('')}</Articles>`;
    }
    case 'transfer_customer_service':
      return reply.kfAccount ? `<TransInfo>${element('KfAccount', reply.kfAccount)}</TransInfo>` : '';
  }
}

/**
 * The passive-reply XML WeChat expects as the callback's response body (plaintext; in safe mode the caller wraps
 * it in the encrypted envelope). Text goes in CDATA; optional fields that are not set are left out.
 * @throws TypeError or RangeError for a reply of the wrong shape, one with no passive form (a Mini Program card)
 * or a `createTime` that is not whole seconds.
 */
export function renderReplyXml(reply: WechatReply, to: ReplyAddress): string {
  assertReply(reply);
  if (reply.kind === 'miniprogrampage') {
    throw new TypeError(
      'a miniprogrampage reply has no passive form: it goes out as a customer-service message',
    );
  }
  if (!Number.isSafeInteger(to.createTime) || to.createTime < 0) {
    throw new RangeError('createTime must be whole Unix seconds');
  }
  return (
    `<xml>${element('ToUserName', to.toUser)}${element('FromUserName', to.fromUser)}` +
    `<CreateTime>${to.createTime}</CreateTime>${element('MsgType', reply.kind)}${replyBody(reply)}</xml>`
  );
}

/** The body of `POST /cgi-bin/message/custom/send` for the reply kinds that have one. */
export type CustomerServiceMessage =
  | { touser: string; msgtype: 'text'; text: { content: string } }
  | { touser: string; msgtype: 'image'; image: { media_id: string } }
  | { touser: string; msgtype: 'voice'; voice: { media_id: string } }
  | {
      touser: string;
      msgtype: 'video';
      video: { media_id: string; thumb_media_id?: string; title: string; description: string };
    }
  | {
      touser: string;
      msgtype: 'music';
      music: {
        title: string;
        description: string;
        musicurl: string;
        hqmusicurl: string;
        thumb_media_id: string;
      };
    }
  | {
      touser: string;
      msgtype: 'news';
      news: { articles: { title: string; description: string; url: string; picurl: string }[] };
    };

/**
 * The same reply sent later through the customer-service API (for handlers too slow for the 5-second window).
 * Unset optional fields become `''`. A transfer to customer service has no such message, nor has a Mini Program
 * card (an Official Account's names the Mini Program, which the reply does not): `null`.
 */
export function replyToCustomerServiceMessage(
  reply: WechatReply,
  openId: string,
): CustomerServiceMessage | null {
  assertReply(reply);
  const touser = openId;
  switch (reply.kind) {
    case 'text':
      return { touser, msgtype: 'text', text: { content: reply.content } };
    case 'image':
      return { touser, msgtype: 'image', image: { media_id: reply.mediaId } };
    case 'voice':
      return { touser, msgtype: 'voice', voice: { media_id: reply.mediaId } };
    case 'video':
      return {
        touser,
        msgtype: 'video',
        video: { media_id: reply.mediaId, title: reply.title ?? '', description: reply.description ?? '' },
      };
    case 'music':
      return {
        touser,
        msgtype: 'music',
        music: {
          title: reply.title ?? '',
          description: reply.description ?? '',
          musicurl: reply.musicUrl ?? '',
          hqmusicurl: reply.hqMusicUrl ?? '',
          thumb_media_id: reply.thumbMediaId,
        },
      };
    case 'news':
      return {
        touser,
        msgtype: 'news',
        news: {
          articles: reply.articles.map((article) => ({
            title: article.title,
            description: article.description ?? '',
            url: article.url ?? '',
            picurl: article.picUrl ?? '',
          })),
        },
      };
    case 'transfer_customer_service':
    case 'miniprogrampage':
      return null;
  }
}

/** The body of `POST /cgi-bin/message/custom/send` as a Mini Program may send it. */
export type MiniProgramCustomerServiceMessage =
  | { touser: string; msgtype: 'text'; text: { content: string } }
  | { touser: string; msgtype: 'image'; image: { media_id: string } }
  | {
      touser: string;
      msgtype: 'link';
      link: { title: string; description: string; url: string; thumb_url: string };
    }
  | {
      touser: string;
      msgtype: 'miniprogrampage';
      miniprogrampage: { title: string; pagepath: string; thumb_media_id: string };
    };

/**
 * A reply to a Mini Program push as its customer-service message: a Mini Program sends only text, image, link and
 * miniprogrampage. `text`, `image` and `miniprogrampage` map one to one; a `news` reply of exactly one article
 * becomes a `link` card (its `picUrl` the thumbnail). Any other reply has no Mini Program equivalent: `null`.
 */
export function replyToMiniProgramCustomerServiceMessage(
  reply: WechatReply,
  openId: string,
): MiniProgramCustomerServiceMessage | null {
  assertReply(reply);
  const touser = openId;
  switch (reply.kind) {
    case 'text':
      return { touser, msgtype: 'text', text: { content: reply.content } };
    case 'image':
      return { touser, msgtype: 'image', image: { media_id: reply.mediaId } };
    case 'news': {
      const article = reply.articles.length === 1 ? reply.articles[0] : undefined;
      if (article === undefined) return null;
      return {
        touser,
        msgtype: 'link',
        link: {
          title: article.title,
          description: article.description ?? '',
          url: article.url ?? '',
          thumb_url: article.picUrl ?? '',
        },
      };
    }
    case 'miniprogrampage':
      return {
        touser,
        msgtype: 'miniprogrampage',
        miniprogrampage: {
          title: reply.title,
          pagepath: reply.pagePath,
          thumb_media_id: reply.thumbMediaId,
        },
      };
    default:
      return null;
  }
}
