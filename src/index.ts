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
