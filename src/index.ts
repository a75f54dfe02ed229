/** The public library surface of wxhub. */
export { AppModule } from './app.module';
export { createApp } from './create-app';
export { TokenModule, type TokenModuleAsyncOptions } from './token/token.module';
export type { TokenModuleOptions } from './token/token-plane-options';
export { TokenService, type AccessToken, type AccountTokenState } from './token/token.service';
export { TokenUnavailableError } from './token/errors/token-unavailable.error';
export { AccountNotFoundError } from './token/errors/account-not-found.error';
export { ForceRefreshRefusedError } from './token/errors/force-refresh-refused.error';
export { AccountConfig, type MessageMode, type TokenEndpoint } from './accounts/account-config';
export { AccountRegistry } from './accounts/account-registry';
export { ConfigError } from './config/config-error';
export type { TokenStore, CredentialRecord } from './store/token-store';
export { WechatSimulator } from './sandbox/wechat-simulator';
export {
  WechatCallbackModule,
  type WechatCallbackModuleAsyncOptions,
} from './wechat-callback/wechat-callback.module';
export type { WechatCallbackModuleOptions } from './wechat-callback/wechat-callback-options';
export {
  OnWechatMessage,
  OnWechatEvent,
  type WechatHandlerOptions,
} from './wechat-callback/wechat-callback.decorators';
export { currentWechatContext, type WechatCallbackContext } from './wechat-callback/wechat-context';
export {
  text,
  image,
  voice,
  video,
  music,
  news,
  transferToCustomerService,
  type WechatReply,
  type NewsArticle,
} from './wechat-callback/wechat-reply';
export type * from './wechat-callback/wechat-message';
export { sha1Signature, WechatCrypto } from './wechat-callback/wechat-crypto';
export { InvalidSignatureError } from './wechat-callback/errors/invalid-signature.error';
export { MalformedXmlError } from './wechat-callback/errors/malformed-xml.error';
export { DecryptError } from './wechat-callback/errors/decrypt.error';
export { AppIdMismatchError } from './wechat-callback/errors/app-id-mismatch.error';
export { pushXml, signPush, openReply } from './sandbox/push-builder';
export { TicketService, jsapiSignature, type TicketType, type JsapiSignature } from './token/ticket.service';
