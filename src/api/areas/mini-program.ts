import type { WechatBinary, WechatCaller } from '../wechat-request';

/** What `code2Session` answers: who the user is and the key of their session. */
export interface MiniProgramSession {
  openid: string;
  /**
   * Decrypts the user data the Mini Program hands over (`encryptedData`). A secret: keep it on the server, never
   * log it, never send it to the Mini Program.
   */
  session_key: string;
  /** When the Mini Program is bound to an Open Platform account. */
  unionid?: string;
}

/** A user's phone number (`getuserphonenumber`). */
export interface PhoneInfo {
  /** With the country code for numbers outside mainland China. */
  phoneNumber: string;
  /** Without the country code. */
  purePhoneNumber: string;
  countryCode: string;
  watermark: { timestamp: number; appid: string };
}

/** Which version of the Mini Program a link or code opens. */
export type MiniProgramEnvVersion = 'release' | 'trial' | 'develop';

/** A subscribe message (`message/subscribe/send`, 订阅消息), sent once per consent the user gave. */
export interface MiniProgramSubscribeMessage {
  touser: string;
  template_id: string;
  /** The page opened on tap, e.g. `pages/order/detail?id=42`. */
  page?: string;
  /** One entry per template keyword, e.g. `{ thing1: { value: '…' } }`; WeChat limits each by its kind. */
  data: Record<string, { value: string }>;
  /** Which version the tap opens: `formal` (default), `trial` or `developer`. */
  miniprogram_state?: 'developer' | 'trial' | 'formal';
  lang?: 'zh_CN' | 'en_US' | 'zh_HK' | 'zh_TW';
}

/** Options of an unlimited wxacode (`getwxacodeunlimit`, 小程序码). */
export interface UnlimitedWxaCodeOptions {
  /** Up to 32 visible characters: letters, digits and `!#$&'()*+,/:;=?@-._~`. Read back as the page's `scene`. */
  scene: string;
  /** A page of the published Mini Program, without a leading `/` and without query; default the home page. */
  page?: string;
  /** Default true: WeChat checks that `page` exists (set false for a page not yet released). */
  check_path?: boolean;
  env_version?: MiniProgramEnvVersion;
  /** 280 to 1280 pixels; default 430. */
  width?: number;
  auto_color?: boolean;
  line_color?: { r: number; g: number; b: number };
  /** A transparent background (the image is then a PNG). */
  is_hyaline?: boolean;
}

/** When a URL scheme or URL link stops working: at a time, or after some days (at most 30). */
export type MiniProgramLinkExpiry =
  { expire_type: 0; expire_time: number } | { expire_type: 1; expire_interval: number };

/** Options of `generatescheme` (URL Scheme, `weixin://dl/business/?t=…`). */
export interface UrlSchemeOptions {
  jump_wxa?: { path?: string; query?: string; env_version?: MiniProgramEnvVersion };
  expiry?: MiniProgramLinkExpiry;
}

/** Options of `generate_urllink` (URL Link, `https://wxaurl.cn/…`). */
export interface UrlLinkOptions {
  path?: string;
  query?: string;
  env_version?: MiniProgramEnvVersion;
  expiry?: MiniProgramLinkExpiry;
}

/** Where the checked text comes from: 1 profile, 2 comment, 3 forum, 4 social log. */
export type ContentScene = 1 | 2 | 3 | 4;

/** A text to check (`msg_sec_check` v2). `openid` must have used the Mini Program in the last 2 hours. */
export interface TextCheckRequest {
  content: string;
  openid: string;
  scene: ContentScene;
  title?: string;
  nickname?: string;
  signature?: string;
}

/** WeChat's verdict on a text. */
export interface TextCheckResult {
  /** `pass`, `review` (doubtful) or `risky`. */
  result: { suggest: 'pass' | 'review' | 'risky'; label: number };
  detail: {
    strategy: string;
    errcode: number;
    suggest: string;
    label: number;
    keyword?: string;
    prob?: number;
  }[];
  trace_id: string;
}

/** An image or audio to check asynchronously (`media_check_async` v2); the verdict arrives as `wxa_media_check`. */
export interface MediaCheckRequest {
  media_url: string;
  /** 1 audio, 2 image. */
  media_type: 1 | 2;
  openid: string;
  scene: ContentScene;
}

/** A customer-service message to a Mini Program user (only these four kinds are accepted there). */
export type MiniProgramCustomMessage = { touser: string } & (
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image'; image: { media_id: string } }
  | { msgtype: 'link'; link: { title: string; description: string; url: string; thumb_url: string } }
  | {
      msgtype: 'miniprogrampage';
      miniprogrampage: { title: string; pagepath: string; thumb_media_id: string };
    }
);

/** Longest `scene` of an unlimited wxacode. */
export const WXACODE_SCENE_MAX = 32;
/** Longest lifetime of a URL scheme or URL link, in days. */
export const LINK_MAX_DAYS = 30;
const SCENE_CHARS = /^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$/;
const MINI_PROGRAM_CUSTOM_TYPES = new Set(['text', 'image', 'link', 'miniprogrampage']);

/**
 * Mini Program (小程序) server APIs: login (`code2Session`), phone numbers, subscribe messages, wxacode images,
 * URL schemes and links, content security and customer-service messages. They take the Mini Program's
 * access_token like any other API (the hub's token plane serves both kinds), except `code2Session`, which the hub
 * signs with the AppSecret it keeps, so that no service needs it.
 *
 * Single-use inputs (login codes, phone codes) and sends are never retried on -1: a retry could spend the code or
 * deliver twice. Arguments WeChat would refuse are refused here first (RangeError / TypeError).
 */
export class MiniProgramApi {
  constructor(
    private readonly client: WechatCaller,
    /** The AppSecret of a configured account (throws AccountNotFoundError for an unknown one). */
    private readonly appSecretOf: (appId: string) => string,
  ) {}

  /**
   * `GET /sns/jscode2session`: trades the `code` of `wx.login()` for the user's openid and `session_key`. A code
   * works once and for 5 minutes. Errors: 40029 invalid code, 45011 too frequent (100 per user per minute),
   * 40226 risky user (plain `WechatApiError` / `WechatQuotaError`); the code and the AppSecret never appear in
   * an error.
   */
  async code2Session(appId: string, jsCode: string): Promise<MiniProgramSession> {
    if (typeof jsCode !== 'string' || jsCode.length === 0)
      throw new TypeError('js_code must be a non-empty string');
    const secret = this.appSecretOf(appId);
    const answer = await this.client.requestWithoutToken<MiniProgramSession>({
      method: 'GET',
      path: '/sns/jscode2session',
      query: { appid: appId, secret, js_code: jsCode, grant_type: 'authorization_code' },
      retryBusy: false,
      redact: [secret, jsCode],
    });
    return {
      openid: answer.openid,
      session_key: answer.session_key,
      ...(answer.unionid !== undefined ? { unionid: answer.unionid } : {}),
    };
  }

  /**
   * `POST /wxa/business/getuserphonenumber`: the phone number behind the `code` of a `getPhoneNumber` button
   * (single-use, 5 minutes; 40029 otherwise). Not retried on -1.
   */
  async getPhoneNumber(appId: string, code: string): Promise<PhoneInfo> {
    if (typeof code !== 'string' || code.length === 0) throw new TypeError('code must be a non-empty string');
    const answer = await this.client.request<{ phone_info: PhoneInfo }>(appId, {
      method: 'POST',
      path: '/wxa/business/getuserphonenumber',
      json: { code },
      retryBusy: false,
    });
    return answer.phone_info;
  }

  /**
   * `POST /cgi-bin/message/subscribe/send`. Each consent of the user allows one message (43101 without one);
   * 40037 unknown template, 47003 a keyword value WeChat refuses. Not retried on -1.
   */
  async sendSubscribeMessage(appId: string, message: MiniProgramSubscribeMessage): Promise<void> {
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/message/subscribe/send',
      json: message,
      retryBusy: false,
    });
  }

  /**
   * `POST /wxa/getwxacodeunlimit`: a wxacode image (JPEG, PNG when `is_hyaline`), as many as you like. WeChat's
   * JSON error (e.g. 41030 unknown page) is thrown as a typed error, never handed back as an image.
   * @throws RangeError (synchronously) for a scene or width WeChat would refuse.
   */
  getUnlimitedWxaCode(appId: string, options: UnlimitedWxaCodeOptions): Promise<WechatBinary> {
    const sceneLength = [...(options.scene ?? '')].length;
    if (sceneLength === 0 || sceneLength > WXACODE_SCENE_MAX || !SCENE_CHARS.test(options.scene)) {
      throw new RangeError(
        `scene must be 1 to ${WXACODE_SCENE_MAX} characters of letters, digits and !#$&'()*+,/:;=?@-._~`,
      );
    }
    if (
      options.width !== undefined &&
      !(Number.isSafeInteger(options.width) && options.width >= 280 && options.width <= 1280)
    ) {
      throw new RangeError('width must be an integer from 280 to 1280');
    }
    return this.client.request(appId, {
      method: 'POST',
      path: '/wxa/getwxacodeunlimit',
      json: options,
      responseType: 'buffer',
    });
  }

  /**
   * `POST /wxa/generatescheme`: a URL scheme (`weixin://dl/business/?t=…`) opening the Mini Program.
   * @throws RangeError (synchronously) for an expiry beyond 30 days.
   */
  generateScheme(appId: string, options: UrlSchemeOptions = {}): Promise<string> {
    const { expiry, ...rest } = options;
    const json = { ...rest, ...checkExpiry(expiry) };
    return this.client
      .request<{ openlink: string }>(appId, { method: 'POST', path: '/wxa/generatescheme', json })
      .then((answer) => answer.openlink);
  }

  /**
   * `POST /wxa/generate_urllink`: a URL link (`https://wxaurl.cn/…`) opening the Mini Program from a web page.
   * @throws RangeError (synchronously) for an expiry beyond 30 days.
   */
  generateUrlLink(appId: string, options: UrlLinkOptions = {}): Promise<string> {
    const { expiry, ...rest } = options;
    const json = { ...rest, ...checkExpiry(expiry) };
    return this.client
      .request<{ url_link: string }>(appId, { method: 'POST', path: '/wxa/generate_urllink', json })
      .then((answer) => answer.url_link);
  }

  /** `POST /wxa/msg_sec_check` (version 2): WeChat's verdict on a user's text. */
  checkText(appId: string, request: TextCheckRequest): Promise<TextCheckResult> {
    return this.client.request<TextCheckResult>(appId, {
      method: 'POST',
      path: '/wxa/msg_sec_check',
      json: { ...request, version: 2 },
    });
  }

  /**
   * `POST /wxa/media_check_async` (version 2): starts a check of an image or audio URL; resolves to the
   * `trace_id` the later `wxa_media_check` push carries.
   */
  async checkMediaAsync(appId: string, request: MediaCheckRequest): Promise<string> {
    const answer = await this.client.request<{ trace_id: string }>(appId, {
      method: 'POST',
      path: '/wxa/media_check_async',
      json: { ...request, version: 2 },
    });
    return answer.trace_id;
  }

  /**
   * `POST /cgi-bin/message/custom/send` as a Mini Program: text, image, link or miniprogrampage only, within
   * 48 hours of the user's last message (45015 after). Not retried on -1.
   * @throws TypeError for another msgtype (WeChat refuses it for Mini Programs).
   */
  async sendCustomerServiceMessage(appId: string, message: MiniProgramCustomMessage): Promise<void> {
    if (!MINI_PROGRAM_CUSTOM_TYPES.has(message.msgtype)) {
      throw new TypeError('a Mini Program sends only text, image, link or miniprogrampage messages');
    }
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/message/custom/send',
      json: message,
      retryBusy: false,
    });
  }
}

function checkExpiry(expiry: MiniProgramLinkExpiry | undefined): object {
  if (expiry === undefined) return {};
  if (expiry.expire_type === 1) {
    if (!(
      Number.isSafeInteger(expiry.expire_interval) &&
      expiry.expire_interval >= 1 &&
      expiry.expire_interval <= LINK_MAX_DAYS
    )) {
      throw new RangeError(`expire_interval must be 1 to ${LINK_MAX_DAYS} days`);
    }
    return { is_expire: true, expire_type: 1, expire_interval: expiry.expire_interval };
  }
  if (expiry.expire_type === 0 && Number.isSafeInteger(expiry.expire_time) && expiry.expire_time > 0) {
    return { is_expire: true, expire_type: 0, expire_time: expiry.expire_time };
  }
  throw new RangeError(
    'expiry must be { expire_type: 0, expire_time } or { expire_type: 1, expire_interval }',
  );
}
