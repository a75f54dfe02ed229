import { Inject } from '@nestjs/common';

export const WECHAT_MESSAGE_HANDLER = Symbol('WECHAT_MESSAGE_HANDLER');
export const WECHAT_EVENT_HANDLER = Symbol('WECHAT_EVENT_HANDLER');
export const WECHAT_CALLBACK_OPTIONS = Symbol('WECHAT_CALLBACK_OPTIONS');
export const InjectWechatCallbackOptions = (): ParameterDecorator => Inject(WECHAT_CALLBACK_OPTIONS);

/**
 * Fastify route config key (`@RouteConfig({ [RAW_JSON_BODY]: true })`) of a route that takes an `application/json`
 * body as the exact string sent: WeChat signs the bytes, and a JSON push's 64-bit `MsgId`, duplicate keys and
 * `__proto__` keys are the callback's own to judge (createApp installs the parser that honours it).
 */
export const RAW_JSON_BODY = 'wxhubRawJsonBody';
