/**
 * Types of the messages and events WeChat pushes to the callback URL, as `parseWechatXml` returns them (and
 * `parseWechatJson`, identically, for an account that pushes JSON): field names exactly as in WeChat's XML, every
 * value a string (numbers included), `<item>` and subscription-notice `<List>` entries always arrays. Fields WeChat
 * adds later pass through under the index signature.
 */

/** The fields every push carries. */
export interface WechatMessageBase {
  /** The account's original id (`gh_...`). */
  ToUserName: string;
  /** The sender's openid. */
  FromUserName: string;
  /** Unix seconds. */
  CreateTime: string;
  MsgType: string;
  [field: string]: unknown;
}

/** Fields of the ordinary (non-event) messages. */
export interface UserMessageBase extends WechatMessageBase {
  /** 64-bit id, kept as a string; the dedupe key of messages. */
  MsgId: string;
  /** Present when the message answers an article (`MsgDataId`, `Idx`). */
  MsgDataId?: string;
  Idx?: string;
}

export interface TextMessage extends UserMessageBase {
  MsgType: 'text';
  Content: string;
}

export interface ImageMessage extends UserMessageBase {
  MsgType: 'image';
  PicUrl: string;
  MediaId: string;
}

export interface VoiceMessage extends UserMessageBase {
  MsgType: 'voice';
  MediaId: string;
  /** `amr` or `speex`. */
  Format: string;
  /** The speech-recognition result, when recognition is switched on for the account. */
  Recognition?: string;
}

export interface VideoMessage extends UserMessageBase {
  MsgType: 'video';
  MediaId: string;
  ThumbMediaId: string;
}

export interface ShortVideoMessage extends UserMessageBase {
  MsgType: 'shortvideo';
  MediaId: string;
  ThumbMediaId: string;
}

export interface LocationMessage extends UserMessageBase {
  MsgType: 'location';
  /** Latitude. */
  Location_X: string;
  /** Longitude. */
  Location_Y: string;
  Scale: string;
  Label: string;
}

export interface LinkMessage extends UserMessageBase {
  MsgType: 'link';
  Title: string;
  Description: string;
  Url: string;
}

/**
 * A Mini Program card a user sent in a Mini Program customer-service conversation. Mini Programs also push
 * `text` and `image` there ({@link TextMessage}, {@link ImageMessage}).
 */
export interface MiniProgramPageMessage extends UserMessageBase {
  MsgType: 'miniprogrampage';
  Title: string;
  /** The AppID of the Mini Program the card opens. */
  AppId: string;
  PagePath: string;
  /** A temporary CDN link to the cover image. */
  ThumbUrl: string;
  /** The cover image as a temporary material. */
  ThumbMediaId: string;
}

/** Any event (`MsgType=event`); events carry no MsgId. */
export interface WechatEventBase extends WechatMessageBase {
  MsgType: 'event';
  /** Case-sensitive: `subscribe`, `SCAN`, `TEMPLATESENDJOBFINISH`, … */
  Event: string;
}

/** A follow. After a parametric QR code: `EventKey` is `qrscene_<scene>` and `Ticket` is set. */
export interface SubscribeEvent extends WechatEventBase {
  Event: 'subscribe';
  EventKey?: string;
  Ticket?: string;
}

export interface UnsubscribeEvent extends WechatEventBase {
  Event: 'unsubscribe';
  EventKey?: string;
}

/** A follower scanned a parametric QR code: `EventKey` is the scene value, without the `qrscene_` prefix. */
export interface ScanEvent extends WechatEventBase {
  Event: 'SCAN';
  EventKey: string;
  Ticket: string;
}

/** The automatic location report. */
export interface LocationEvent extends WechatEventBase {
  Event: 'LOCATION';
  Latitude: string;
  Longitude: string;
  Precision: string;
}

/** A `click` menu button; `EventKey` is the button key. */
export interface ClickEvent extends WechatEventBase {
  Event: 'CLICK';
  EventKey: string;
}

/** A `view` menu button; `EventKey` is the URL. */
export interface ViewEvent extends WechatEventBase {
  Event: 'VIEW';
  EventKey: string;
  MenuId?: string;
}

/** A `miniprogram` menu button; `EventKey` is the page path. */
export interface ViewMiniprogramEvent extends WechatEventBase {
  Event: 'view_miniprogram';
  EventKey: string;
  MenuId?: string;
}

export interface ScanCodeInfo {
  /** `qrcode`, `barcode`, … */
  ScanType: string;
  ScanResult: string;
}

/** A `scancode_push` / `scancode_waitmsg` menu button. */
export interface ScanCodeEvent extends WechatEventBase {
  Event: 'scancode_push' | 'scancode_waitmsg';
  EventKey: string;
  ScanCodeInfo: ScanCodeInfo;
}

export interface SendPicsItem {
  PicMd5Sum: string;
}

export interface SendPicsInfo {
  Count: string;
  /** `item` is always an array. */
  PicList: { item: SendPicsItem[] };
}

/** A `pic_sysphoto` / `pic_photo_or_album` / `pic_weixin` menu button. */
export interface PicEvent extends WechatEventBase {
  Event: 'pic_sysphoto' | 'pic_photo_or_album' | 'pic_weixin';
  EventKey: string;
  SendPicsInfo: SendPicsInfo;
}

export interface SendLocationInfo {
  Location_X: string;
  Location_Y: string;
  Scale: string;
  Label: string;
  /** Empty when the user picked a point rather than a place. */
  Poiname: string;
}

/** A `location_select` menu button. */
export interface LocationSelectEvent extends WechatEventBase {
  Event: 'location_select';
  EventKey: string;
  SendLocationInfo: SendLocationInfo;
}

/** The outcome of a template message. Note the capital `ID` in `MsgID`. */
export interface TemplateSendJobFinishEvent extends WechatEventBase {
  Event: 'TEMPLATESENDJOBFINISH';
  MsgID: string;
  /** `success`, or a `failed…` string. */
  Status: string;
}

/** The outcome of a mass send. */
export interface MassSendJobFinishEvent extends WechatEventBase {
  Event: 'MASSSENDJOBFINISH';
  MsgID: string;
  /** `send success`, `send fail` or `err(NNNNN)`. */
  Status: string;
  TotalCount: string;
  FilterCount: string;
  SentCount: string;
  ErrorCount: string;
  /** `{ Count, ResultList: { item: [...] }, CheckState }`, passed through as parsed. */
  CopyrightCheckResult?: unknown;
  /** `{ Count, ResultList: { item: [{ ArticleIdx, ArticleUrl }] } }`, passed through as parsed. */
  ArticleUrlResult?: unknown;
}

export interface SubscribeMsgPopupEntry {
  TemplateId: string;
  /** `accept` or `reject`. */
  SubscribeStatusString: string;
  /** Where the pop-up was shown: `0` a Mini Program page; `1` an H5 page, `2` an article (Official Accounts). */
  PopupScene: string;
}

/**
 * Answers in the subscription-notice consent pop-up. `List` is always an array (a JSON push's top-level `List`,
 * an object for one entry, arrives here too).
 */
export interface SubscribeMsgPopupEvent extends WechatEventBase {
  Event: 'subscribe_msg_popup_event';
  SubscribeMsgPopupEvent: { List: SubscribeMsgPopupEntry[] };
}

export interface SubscribeMsgChangeEntry {
  TemplateId: string;
  /** `reject` when the user turned a notice off in settings. */
  SubscribeStatusString: string;
}

/** The user changed subscription-notice settings. `List` is always an array. */
export interface SubscribeMsgChangeEvent extends WechatEventBase {
  Event: 'subscribe_msg_change_event';
  SubscribeMsgChangeEvent: { List: SubscribeMsgChangeEntry[] };
}

export interface SubscribeMsgSentEntry {
  TemplateId: string;
  MsgID: string;
  /** `0` on success. */
  ErrorCode: string;
  ErrorStatus: string;
}

/** The outcome of a subscription notice. `List` is always an array. */
export interface SubscribeMsgSentEvent extends WechatEventBase {
  Event: 'subscribe_msg_sent_event';
  SubscribeMsgSentEvent: { List: SubscribeMsgSentEntry[] };
}

export interface KfCreateSessionEvent extends WechatEventBase {
  Event: 'kf_create_session';
  KfAccount: string;
}

export interface KfCloseSessionEvent extends WechatEventBase {
  Event: 'kf_close_session';
  KfAccount: string;
}

export interface KfSwitchSessionEvent extends WechatEventBase {
  Event: 'kf_switch_session';
  FromKfAccount: string;
  ToKfAccount: string;
}

/** A user opened the customer-service conversation of a Mini Program (the contact button). */
export interface UserEnterTempsessionEvent extends WechatEventBase {
  Event: 'user_enter_tempsession';
  /** The `session-from` attribute the Mini Program set on the button. */
  SessionFrom: string;
}

/** The overall verdict of an asynchronous content check. */
export interface MediaCheckResult {
  /** `pass`, `review` or `risky`. */
  suggest: string;
  /** The label hit, `100` when normal. */
  label: string;
}

/** One strategy's verdict in an asynchronous content check. */
export interface MediaCheckDetail {
  strategy: string;
  /** `0` when this entry is valid. */
  errcode: string;
  suggest?: string;
  label?: string;
  /** Confidence, 0 to 100. */
  prob?: string;
}

/**
 * The result of `POST /wxa/media_check_async` (version 2), matched to the call by `trace_id`. Field names are
 * lower-case as WeChat spells them.
 */
export interface WxaMediaCheckEvent extends WechatEventBase {
  Event: 'wxa_media_check';
  /** The Mini Program's AppID. */
  appid: string;
  trace_id: string;
  version?: string;
  errcode?: string;
  errmsg?: string;
  result?: MediaCheckResult;
  /** One entry per strategy: an object for one entry, an array for several (as a repeated XML element). */
  detail?: MediaCheckDetail | MediaCheckDetail[];
  /** Version 1 only: `0` or `1`. */
  isrisky?: string;
  extra_info_json?: string;
  status_code?: string;
}

/** The test event of the console's push debugger (消息推送 → 调试工具). */
export interface DebugDemoEvent extends WechatEventBase {
  Event: 'debug_demo';
  debug_str?: string;
}

/** The ordinary messages a user sends. */
export type WechatUserMessage =
  | TextMessage
  | ImageMessage
  | VoiceMessage
  | VideoMessage
  | ShortVideoMessage
  | LocationMessage
  | LinkMessage
  | MiniProgramPageMessage;

/** The events described here; others (card_*, user_info_modified, …) still arrive as a `WechatEventBase`. */
export type WechatEvent =
  | SubscribeEvent
  | UnsubscribeEvent
  | ScanEvent
  | LocationEvent
  | ClickEvent
  | ViewEvent
  | ViewMiniprogramEvent
  | ScanCodeEvent
  | PicEvent
  | LocationSelectEvent
  | TemplateSendJobFinishEvent
  | MassSendJobFinishEvent
  | SubscribeMsgPopupEvent
  | SubscribeMsgChangeEvent
  | SubscribeMsgSentEvent
  | KfCreateSessionEvent
  | KfCloseSessionEvent
  | KfSwitchSessionEvent
  | UserEnterTempsessionEvent
  | WxaMediaCheckEvent
  | DebugDemoEvent;

/**
 * What a Mini Program pushes: customer-service messages (`text`, `image`, `miniprogrampage`) and the events of its
 * docs. Others (`add_express_path`, `xpay_*`, …) still arrive as a `WechatEventBase`.
 */
export type MiniProgramMessage =
  | TextMessage
  | ImageMessage
  | MiniProgramPageMessage
  | UserEnterTempsessionEvent
  | SubscribeMsgPopupEvent
  | SubscribeMsgChangeEvent
  | SubscribeMsgSentEvent
  | WxaMediaCheckEvent
  | DebugDemoEvent;

/** Every message and event with a known shape, discriminated by `MsgType` and then `Event`. */
export type WechatMessage = WechatUserMessage | WechatEvent;

/** The `MsgType` values of ordinary messages. */
export type WechatMsgType = WechatUserMessage['MsgType'];

/** The `Event` values with a known shape. */
export type WechatEventType = WechatEvent['Event'];

/** Whether a parsed push carries the four common fields as strings (any other body is not a WeChat push). */
export function isWechatMessage(value: unknown): value is WechatMessageBase {
  if (value === null || typeof value !== 'object') return false;
  const fields = value as Record<string, unknown>;
  return (
    typeof fields.ToUserName === 'string' &&
    typeof fields.FromUserName === 'string' &&
    typeof fields.CreateTime === 'string' &&
    typeof fields.MsgType === 'string'
  );
}

/** Whether a push is an event (`MsgType=event` with an `Event`). */
export function isEvent(message: WechatMessageBase): message is WechatEventBase {
  return message.MsgType === 'event' && typeof message.Event === 'string';
}

/** What a push is, for routing: an ordinary message of some `MsgType`, or an event of some `Event`. */
export type WechatMessageKind = { type: 'message'; msgType: string } | { type: 'event'; event: string };

/** Tells an ordinary message (`{ type: 'message', msgType }`) from an event (`{ type: 'event', event }`). */
export function messageKind(message: WechatMessageBase): WechatMessageKind {
  return isEvent(message)
    ? { type: 'event', event: message.Event }
    : { type: 'message', msgType: message.MsgType };
}

/**
 * A possibly repeated element as an array whatever the count: absent gives `[]`, one value `[value]`, repeats
 * themselves. For elements the parser does not already make arrays (it does for `<item>` and notice `<List>`).
 */
export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
