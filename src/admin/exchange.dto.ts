import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/** Body of `POST /api/v1/accounts/:appId/code2session`. */
@ApiSchema({ name: 'Code2SessionRequest' })
export class Code2SessionRequestDto {
  @ApiProperty({
    description: 'The code `wx.login()` gave the Mini Program (single-use, 5 minutes).',
    minLength: 1,
    maxLength: 256,
    example: 'JSCODE',
  })
  @IsString()
  @Length(1, 256)
  js_code!: string;
}

/** Answer of `POST /api/v1/accounts/:appId/code2session`: WeChat's `jscode2session` answer. */
@ApiSchema({ name: 'Code2SessionResponse' })
export class Code2SessionResponseDto {
  @ApiProperty({
    description: "The user's openid in this Mini Program.",
    example: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  })
  openid!: string;

  @ApiProperty({
    description:
      'Decrypts the user data the Mini Program hands over. A secret: keep it server-side, never log it.',
    example: 'SESSIONKEY',
  })
  session_key!: string;

  @ApiPropertyOptional({ description: 'When the Mini Program is bound to an Open Platform account.' })
  unionid?: string;
}

/** Body of `POST /api/v1/accounts/:appId/oauth/access-token`. */
@ApiSchema({ name: 'OAuthCodeRequest' })
export class OAuthCodeRequestDto {
  @ApiProperty({
    description: 'The `code` WeChat appended to the OAuth redirect (single-use, 5 minutes).',
    minLength: 1,
    maxLength: 256,
    example: 'CODE',
  })
  @IsString()
  @Length(1, 256)
  code!: string;
}

/** Answer of `POST /api/v1/accounts/:appId/oauth/access-token`: WeChat's `/sns/oauth2/access_token` answer. */
@ApiSchema({ name: 'WebAccessToken' })
export class WebAccessTokenDto {
  @ApiProperty({
    description: "The user's web access token (not a basic token: `/sns/*` only).",
    example: 'WEBTOKEN',
  })
  access_token!: string;

  @ApiProperty({ description: 'Seconds it lives (7200).', example: 7200 })
  expires_in!: number;

  @ApiProperty({ description: 'Renews the web token for 30 days.', example: 'REFRESHTOKEN' })
  refresh_token!: string;

  @ApiProperty({ description: "The user's openid in this account.", example: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' })
  openid!: string;

  @ApiProperty({ description: 'The scope granted.', example: 'snsapi_userinfo' })
  scope!: string;

  @ApiPropertyOptional({ description: 'When the account is bound to an Open Platform account.' })
  unionid?: string;

  @ApiPropertyOptional({ description: '1 when the user only saw a snapshot page.', example: 0 })
  is_snapshotuser?: number;
}

/** An exchange refused by WeChat: our error shape plus WeChat's own `errcode` and `errmsg`. */
@ApiSchema({ name: 'ExchangeError' })
export class ExchangeErrorDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'WeChat refused the code (errcode 40029: invalid code)' })
  message!: string;

  @ApiProperty({
    description:
      "WeChat's errcode: 40029 invalid code, 40163 code used, 45011 too frequent, 40226 risky user, -1 busy.",
    example: 40029,
  })
  errcode!: number;

  @ApiProperty({ description: "WeChat's errmsg (never the code or a secret).", example: 'invalid code' })
  errmsg!: string;

  @ApiPropertyOptional({ description: "WeChat's request id, when it gave one." })
  rid?: string;
}
