import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

/**
 * Body of `POST /cgi-bin/stable_token`, as WeChat defines it. For the document only: the route reads the body
 * itself and answers WeChat's own errcodes (40002, 41002, 41004, 47001…) with HTTP 200, as SDKs expect, where
 * the ValidationPipe would answer a 400.
 */
@ApiSchema({ name: 'StableTokenRequest' })
export class StableTokenRequestDto {
  @ApiProperty({ enum: ['client_credential'] })
  grant_type!: string;

  @ApiProperty({ description: 'A configured AppID.', example: 'wxAPPID' })
  appid!: string;

  @ApiProperty({ description: "The account's AppSecret, as configured in the hub.", example: 'APPSECRET' })
  secret!: string;

  @ApiPropertyOptional({
    description:
      'true = the caller saw the current token refused: treated as an invalid-token report (compare-and-refresh), ' +
      'never a raw force_refresh.',
    default: false,
  })
  force_refresh?: boolean;
}

/** WeChat's token answer. */
@ApiSchema({ name: 'WechatToken' })
export class WechatTokenDto {
  @ApiProperty({ description: "The hub's shared token for the account.", example: 'ACCESS_TOKEN' })
  access_token!: string;

  @ApiProperty({ description: 'Seconds it has left now.', example: 7031 })
  expires_in!: number;
}
