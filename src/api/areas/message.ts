import type { WechatCaller } from '../wechat-request';

/** A customer-service article (`news`). */
export interface CustomNewsArticle {
  title: string;
  description?: string;
  url?: string;
  picurl?: string;
}

/** The message body of `message/custom/send`, by `msgtype`. */
export type CustomMessageContent =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image'; image: { media_id: string } }
  | { msgtype: 'voice'; voice: { media_id: string } }
  | {
      msgtype: 'video';
      video: { media_id: string; thumb_media_id?: string; title?: string; description?: string };
    }
  | {
      msgtype: 'music';
      music: {
        title?: string;
        description?: string;
        musicurl: string;
        hqmusicurl: string;
        thumb_media_id: string;
      };
    }
  | { msgtype: 'news'; news: { articles: CustomNewsArticle[] } }
  | { msgtype: 'mpnews'; mpnews: { media_id: string } }
  | { msgtype: 'mpnewsarticle'; mpnewsarticle: { article_id: string } }
  | {
      msgtype: 'msgmenu';
      msgmenu: { head_content?: string; list: { id: string; content: string }[]; tail_content?: string };
    }
  | { msgtype: 'wxcard'; wxcard: { card_id: string } }
  | {
      msgtype: 'miniprogrampage';
      miniprogrampage: { title: string; appid: string; pagepath: string; thumb_media_id: string };
    };

/** A customer-service message to one user. `customservice.kf_account` sends it as a given agent. */
export type CustomMessage = CustomMessageContent & {
  touser: string;
  customservice?: { kf_account: string };
};

/** A template message (`message/template/send`). */
export interface TemplateMessage {
  touser: string;
  template_id: string;
  /** Opened on tap (ignored when `miniprogram` is set and the client supports it). */
  url?: string;
  miniprogram?: { appid: string; pagepath?: string };
  /** De-duplication id: the same id within a short window is sent once. */
  client_msg_id?: string;
  /** One entry per template keyword, e.g. `{ thing1: { value: '…' } }`. */
  data: Record<string, { value: string; color?: string }>;
}

/** A subscription notice (`message/subscribe/bizsend`, 订阅通知). */
export interface SubscribeMessage {
  touser: string;
  template_id: string;
  /** Web page opened on tap. */
  page?: string;
  miniprogram?: { appid: string; pagepath: string };
  /** Keyword values; WeChat limits each by its kind (e.g. `thing` ≤ 20 characters). */
  data: Record<string, { value: string }>;
}

/**
 * Active messages. Limits (WeChat): customer-service messages only inside the window after the user's last
 * interaction (otherwise 45015), 500,000 a day; template messages 100,000 a day for service accounts with the
 * feature (40037 unknown template, 43004 the user does not follow); subscription notices need the user's
 * consent (43101 otherwise).
 */
export class MessageApi {
  constructor(private readonly client: WechatCaller) {}

  /** `POST /cgi-bin/message/custom/send`. Not retried on -1 (the user could get the message twice). */
  async sendCustom(appId: string, message: CustomMessage): Promise<void> {
    await this.sendOnce(appId, '/cgi-bin/message/custom/send', message);
  }

  /** `POST /cgi-bin/message/custom/typing`: shows or hides "typing…" for the user (within the same window). */
  async typing(appId: string, openid: string, command: 'Typing' | 'CancelTyping' = 'Typing'): Promise<void> {
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/message/custom/typing',
      json: { touser: openid, command },
    });
  }

  /**
   * `POST /cgi-bin/message/template/send`. Resolves to WeChat's `msgid`; the outcome arrives later as the
   * `TEMPLATESENDJOBFINISH` event (whose `MsgID` is the same number, as a string). Not retried on -1 (a
   * duplicate message would reach the user): set `client_msg_id` and retry yourself if you need to.
   */
  async sendTemplate(appId: string, message: TemplateMessage): Promise<{ msgid: number }> {
    const result = await this.sendOnce<{ msgid: number }>(appId, '/cgi-bin/message/template/send', message);
    return { msgid: result.msgid };
  }

  /** `POST /cgi-bin/message/subscribe/bizsend`. The outcome arrives as `subscribe_msg_sent_event`. Not retried on -1. */
  async sendSubscribe(appId: string, message: SubscribeMessage): Promise<void> {
    await this.sendOnce(appId, '/cgi-bin/message/subscribe/bizsend', message);
  }

  /** Sends a message once: a -1 is not retried, since the user could get the message twice. */
  private sendOnce<T = unknown>(appId: string, path: string, message: object): Promise<T> {
    return this.client.request<T>(appId, { method: 'POST', path, json: message, retryBusy: false });
  }
}
