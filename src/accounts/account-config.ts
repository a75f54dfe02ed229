import { IsIn, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { APP_ID_MESSAGE, APP_ID_PATTERN } from './app-id';

export type MessageMode = 'plain' | 'compatible' | 'safe';
export type TokenEndpoint = 'stable' | 'legacy';

/** One WeChat Official Account the hub owns. Field names follow DESIGN.md ("An account"). */
export class AccountConfig {
  /** AppID from the WeChat console, e.g. `wx1234567890abcdef`. */
  @Matches(APP_ID_PATTERN, { message: APP_ID_MESSAGE })
  appId!: string;

  /** AppSecret. Never logged, never returned by any route. */
  @Matches(/^[0-9a-zA-Z]{16,64}$/, { message: 'appSecret must be 16 to 64 letters or digits' })
  appSecret!: string;

  /** Callback token (服务器配置 → 令牌): 3 to 32 letters or digits. Needed only for the callback endpoint. */
  @IsOptional()
  @Matches(/^[0-9a-zA-Z]{3,32}$/, { message: 'token must be 3 to 32 letters or digits' })
  token?: string;

  /** EncodingAESKey (消息加解密密钥): 43 letters or digits. Required for `compatible` and `safe` modes. */
  @ValidateIf((a: AccountConfig) => a.encodingAESKey !== undefined || a.messageMode !== 'plain')
  @IsString({ message: 'encodingAESKey is required when messageMode is compatible or safe' })
  @Matches(/^[0-9a-zA-Z]{43}$/, { message: 'encodingAESKey must be 43 letters or digits' })
  encodingAESKey?: string;

  @IsIn(['plain', 'compatible', 'safe'], { message: 'messageMode must be one of plain, compatible, safe' })
  messageMode: MessageMode = 'plain';

  @IsIn(['stable', 'legacy'], { message: 'tokenEndpoint must be one of stable, legacy' })
  tokenEndpoint: TokenEndpoint = 'stable';
}

/** What may be shown about an account: no secret, no AES key, no callback token. */
export function describeAccount(account: AccountConfig): {
  appId: string;
  messageMode: MessageMode;
  tokenEndpoint: TokenEndpoint;
  callbackConfigured: boolean;
} {
  return {
    appId: account.appId,
    messageMode: account.messageMode,
    tokenEndpoint: account.tokenEndpoint,
    callbackConfigured: account.token !== undefined,
  };
}
