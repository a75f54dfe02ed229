import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { TokenResponse } from './token-response';

/** OpenAPI schema of {@link TokenResponse}: what the admin API answers for a token. */
@ApiSchema({ name: 'TokenResponse', description: "An account's current access_token." })
export class TokenResponseDto implements TokenResponse {
  @ApiProperty({ description: 'The access_token to call WeChat with.', example: 'ACCESS_TOKEN' })
  access_token!: string;

  @ApiProperty({ description: 'Seconds it has left now.', example: 7031 })
  expires_in!: number;

  @ApiProperty({
    description: 'When it expires (ISO 8601).',
    format: 'date-time',
    example: '2026-01-01T10:00:00.000Z',
  })
  expires_at!: string;

  @ApiProperty({ description: 'Grows with every new token of the account.', example: 12 })
  version!: number;
}

/** What `POST /api/v1/accounts/:appId/token/invalid` decided, with the token to use now. */
@ApiSchema({ name: 'InvalidTokenReportResult' })
export class InvalidTokenReportResultDto extends TokenResponseDto {
  @ApiProperty({
    description:
      '`stale-report`: the reported token is no longer current (nothing done); `false-report`: WeChat still ' +
      'accepts it; `refreshed`: a new token was fetched; `forced`: a force_refresh was needed.',
    enum: ['stale-report', 'false-report', 'refreshed', 'forced'],
    example: 'stale-report',
  })
  outcome!: string;
}

/** A JS-SDK ticket (`jsapi` or `wx_card`). */
@ApiSchema({ name: 'TicketResponse', description: "An account's current JS-SDK ticket." })
export class TicketResponseDto {
  @ApiProperty({ description: 'The ticket.', example: 'JSAPI_TICKET' })
  ticket!: string;

  @ApiProperty({ description: 'Seconds it has left now.', example: 7031 })
  expires_in!: number;

  @ApiProperty({ description: 'When it expires (ISO 8601).', format: 'date-time' })
  expires_at!: string;

  @ApiProperty({ description: 'Grows with every new ticket of the account.', example: 3 })
  version!: number;
}
