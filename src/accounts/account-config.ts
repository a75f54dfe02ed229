import { IsIn, IsOptional, IsString, Matches, ValidateBy, ValidateIf } from 'class-validator';
import { APP_ID_MESSAGE, APP_ID_PATTERN } from './app-id';

export type MessageMode = 'plain' | 'compatible' | 'safe';
export type TokenEndpoint = 'stable' | 'legacy';
/** What the account is on WeChat's side: an Official Account (公众号) or a Mini Program (小程序). */
export type AccountKind = 'officialAccount' | 'miniProgram';
/** How WeChat formats the pushes to the callback URL (数据格式): XML, or JSON (a Mini Program setting). */
export type MessageFormat = 'xml' | 'json';

/** One WeChat account (Official Account or Mini Program) the hub owns. Field names follow DESIGN.md ("An account"). */
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

  /**
   * `officialAccount` (default) or `miniProgram`. Both fetch tokens the same way. Optional in the type so that
   * plain objects given to `TokenModule.forRoot` stay valid; read it with {@link accountKind}.
   */
  @IsIn(['officialAccount', 'miniProgram'], { message: 'kind must be one of officialAccount, miniProgram' })
  kind?: AccountKind = 'officialAccount';

  /** Push data format: `xml` (default) or `json`; only Mini Programs push JSON. Read it with {@link messageFormatOf}. */
  @IsIn(['xml', 'json'], { message: 'messageFormat must be one of xml, json' })
  @ValidateBy({
    name: 'jsonOnlyForMiniPrograms',
    validator: {
      validate: (value, args) =>
        value !== 'json' || accountKind(args?.object as AccountConfig) === 'miniProgram',
      defaultMessage: () =>
        'messageFormat json is only for kind miniProgram (Official Accounts push XML); set kind: miniProgram or remove messageFormat',
    },
  })
  messageFormat?: MessageFormat = 'xml';
}

/** The account's kind, `officialAccount` when not set. */
export function accountKind(account: Pick<AccountConfig, 'kind'>): AccountKind {
  return account.kind ?? 'officialAccount';
}

/** The account's push data format, `xml` when not set. */
export function messageFormatOf(account: Pick<AccountConfig, 'messageFormat'>): MessageFormat {
  return account.messageFormat ?? 'xml';
}

/** What may be shown about an account: no secret, no AES key, no callback token. */
export function describeAccount(account: AccountConfig): {
  appId: string;
  kind: AccountKind;
  messageFormat: MessageFormat;
  messageMode: MessageMode;
  tokenEndpoint: TokenEndpoint;
  callbackConfigured: boolean;
} {
  return {
    appId: account.appId,
    kind: accountKind(account),
    messageFormat: messageFormatOf(account),
    messageMode: account.messageMode,
    tokenEndpoint: account.tokenEndpoint,
    callbackConfigured: account.token !== undefined,
  };
}
