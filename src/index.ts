/** The public library surface of wxhub. */
export { AppModule } from './app.module';
export { createApp } from './create-app';
export { TokenModule, type TokenModuleAsyncOptions } from './token/token.module';
export type { TokenModuleOptions } from './token/token-plane-options';
export { MetricsModule } from './metrics/metrics.module';
export { MetricsService } from './metrics/metrics.service';
export { TokenService, type AccessToken, type AccountTokenState } from './token/token.service';
export { TokenUnavailableError } from './token/errors/token-unavailable.error';
export { AccountNotFoundError } from './token/errors/account-not-found.error';
export { ForceRefreshRefusedError } from './token/errors/force-refresh-refused.error';
export {
  AccountConfig,
  accountKind,
  messageFormatOf,
  type AccountKind,
  type MessageFormat,
  type MessageMode,
  type TokenEndpoint,
} from './accounts/account-config';
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
  miniProgramPage,
  type WechatReply,
  type NewsArticle,
} from './wechat-callback/wechat-reply';
export type * from './wechat-callback/wechat-message';
export { sha1Signature, WechatCrypto } from './wechat-callback/wechat-crypto';
export { InvalidSignatureError } from './wechat-callback/errors/invalid-signature.error';
export { MalformedXmlError } from './wechat-callback/errors/malformed-xml.error';
export { MalformedJsonError } from './wechat-callback/errors/malformed-json.error';
export { parseWechatJson } from './wechat-callback/wechat-json';
export { DecryptError } from './wechat-callback/errors/decrypt.error';
export { AppIdMismatchError } from './wechat-callback/errors/app-id-mismatch.error';
export { pushXml, signPush, openReply } from './sandbox/push-builder';
export { TicketService, jsapiSignature, type TicketType, type JsapiSignature } from './token/ticket.service';
export { ApiModule, type ApiModuleAsyncOptions } from './api/api.module';
export type { ApiModuleOptions } from './api/api-options';
export {
  WechatApiClient,
  type WechatRequest,
  type WechatQuery,
  type WechatJson,
  type WechatBinary,
  type WechatBinaryStream,
} from './api/wechat-api-client';
export type { MultipartUpload } from './api/multipart';
export { WechatOAuth, type OAuthScope, type WebAccessToken, type WebUserInfo } from './api/wechat-oauth';
export { WechatApiError } from './api/errors/wechat-api.error';
export { WechatTokenError } from './api/errors/wechat-token.error';
export { WechatQuotaError } from './api/errors/wechat-quota.error';
export { WechatPermissionError } from './api/errors/wechat-permission.error';
export { WechatIpWhitelistError } from './api/errors/wechat-ip-whitelist.error';
export { WechatBusyError } from './api/errors/wechat-busy.error';
export { WechatUpstreamError, type WechatUpstreamFailure } from './api/errors/wechat-upstream.error';
export { toWechatApiError } from './api/errors/to-wechat-api-error';
export type * from './api/areas/menu';
export type * from './api/areas/message';
export type * from './api/areas/user';
export type * from './api/areas/tags';
export { showqrcodeUrl, type QrCodeTicket } from './api/areas/qrcode';
export type * from './api/areas/media';
export type * from './api/areas/material';
export type * from './api/areas/shorten';
export type * from './api/areas/misc';
export type * from './api/areas/mini-program';
export { GatewayModule } from './api/gateway/gateway.module';
export type { GatewayModuleOptions } from './api/gateway/gateway-options';
