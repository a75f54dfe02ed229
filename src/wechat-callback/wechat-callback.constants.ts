import { Inject } from '@nestjs/common';

export const WECHAT_MESSAGE_HANDLER = Symbol('WECHAT_MESSAGE_HANDLER');
export const WECHAT_EVENT_HANDLER = Symbol('WECHAT_EVENT_HANDLER');
export const WECHAT_CALLBACK_OPTIONS = Symbol('WECHAT_CALLBACK_OPTIONS');
export const InjectWechatCallbackOptions = (): ParameterDecorator => Inject(WECHAT_CALLBACK_OPTIONS);
