import { SetMetadata } from '@nestjs/common';
import { WECHAT_EVENT_HANDLER, WECHAT_MESSAGE_HANDLER } from './wechat-callback.constants';

/** Narrows which pushes a handler receives. Every option given must match. */
export interface WechatHandlerOptions {
  /** Only this account. */
  appId?: string;
  /** Events: `EventKey` equals this string or matches this RegExp (e.g. a menu key, `qrscene_…`). */
  eventKey?: string | RegExp;
  /** Text messages: `Content` equals this string or matches this RegExp. */
  content?: string | RegExp;
}

export interface WechatHandlerMetadata {
  type: string;
  options: WechatHandlerOptions;
}

/**
 * Handles user messages of `msgType` (`text`, `image`, `voice`, `video`, `shortvideo`, `location`, `link`, …) or
 * every non-event message with `'*'`. The method gets `(message, context)` and returns nothing (→ `success`), a
 * string (→ text reply) or a reply built with the exported helpers. See WechatCallbackRouter for precedence.
 *
 * @example
 * \@OnWechatMessage('text', { content: /^help/i })
 * help(message: WechatTextMessage) { return 'How can I help?'; }
 */
export const OnWechatMessage = (msgType: string, options: WechatHandlerOptions = {}): MethodDecorator =>
  SetMetadata<symbol, WechatHandlerMetadata>(WECHAT_MESSAGE_HANDLER, { type: msgType, options });

/**
 * Handles events (`MsgType=event`) whose `Event` is `event` (`subscribe`, `SCAN`, `CLICK`, … — case-sensitive as
 * WeChat sends it), or every event with `'*'`.
 *
 * @example
 * \@OnWechatEvent('CLICK', { eventKey: 'V1001_TODAY_MUSIC' })
 */
export const OnWechatEvent = (event: string, options: WechatHandlerOptions = {}): MethodDecorator =>
  SetMetadata<symbol, WechatHandlerMetadata>(WECHAT_EVENT_HANDLER, { type: event, options });
