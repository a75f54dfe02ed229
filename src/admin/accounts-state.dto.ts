import { ApiExtraModels, ApiProperty, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import type { AccountTokenState } from '../token/token.service';

type Calls = AccountTokenState['upstreamCallsToday'];
type Reports = AccountTokenState['invalidReportsToday'];
type LastError = NonNullable<AccountTokenState['lastError']>;

/** Upstream token calls of one account today (China time), by kind. */
@ApiSchema({ name: 'UpstreamCallsToday' })
export class UpstreamCallsTodayDto implements Calls {
  @ApiProperty({ description: '`/cgi-bin/token` calls (legacy quota: 2000/day).', example: 0 })
  token!: number;

  @ApiProperty({ description: '`/cgi-bin/stable_token` calls in normal mode.', example: 3 })
  stableToken!: number;

  @ApiProperty({ description: '`/cgi-bin/stable_token` calls with force_refresh.', example: 0 })
  stableTokenForce!: number;

  @ApiProperty({ description: 'Probe calls that checked whether a reported token is dead.', example: 0 })
  probes!: number;
}

/** Invalid-token reports of one account today, by what was decided. */
@ApiSchema({ name: 'InvalidReportsToday' })
export class InvalidReportsTodayDto implements Reports {
  @ApiProperty({ description: 'Reports that led to a refresh.', example: 0 })
  accepted!: number;

  @ApiProperty({ description: 'Reports of a token that was no longer current.', example: 2 })
  stale!: number;

  @ApiProperty({ description: 'Reports of a token WeChat still accepted.', example: 0 })
  false!: number;
}

/** The last failed refresh of an account, while it is failing. */
@ApiSchema({ name: 'AccountLastError' })
export class AccountLastErrorDto implements LastError {
  @ApiProperty({ description: 'What failed (never a secret).', example: 'system error' })
  message!: string;

  @ApiProperty({
    description: "WeChat's errcode, when WeChat answered one.",
    nullable: true,
    type: Number,
    example: -1,
  })
  errcode!: number | null;

  @ApiProperty({ description: 'When (ISO 8601).', format: 'date-time' })
  at!: string;

  @ApiProperty({ description: 'When the next attempt is due (ISO 8601).', format: 'date-time' })
  nextAttemptAt!: string;
}

/** One account's token state for operators. Never a secret, never a token. */
@ApiSchema({ name: 'AccountState' })
@ApiExtraModels(AccountLastErrorDto)
export class AccountStateDto implements AccountTokenState {
  @ApiProperty({ description: 'The AppID.', example: 'wxAPPID' })
  appId!: string;

  @ApiProperty({
    description: 'An Official Account (公众号) or a Mini Program (小程序).',
    enum: ['officialAccount', 'miniProgram'],
  })
  kind!: 'officialAccount' | 'miniProgram';

  @ApiProperty({ description: 'Which WeChat token endpoint the account uses.', enum: ['stable', 'legacy'] })
  endpoint!: 'stable' | 'legacy';

  @ApiProperty({ description: 'Callback message mode.', enum: ['plain', 'compatible', 'safe'] })
  messageMode!: 'plain' | 'compatible' | 'safe';

  @ApiProperty({
    description:
      '`live`: a token with time left; `refreshing`: getting one; `failing`: refreshes fail (see lastError); ' +
      '`missing`: none yet.',
    enum: ['live', 'refreshing', 'failing', 'missing'],
  })
  status!: 'live' | 'refreshing' | 'failing' | 'missing';

  @ApiProperty({ description: 'Version of the stored token.', nullable: true, type: Number, example: 12 })
  version!: number | null;

  @ApiProperty({
    description: 'When the token was fetched.',
    nullable: true,
    type: String,
    format: 'date-time',
  })
  fetchedAt!: string | null;

  @ApiProperty({ description: 'When it expires.', nullable: true, type: String, format: 'date-time' })
  expiresAt!: string | null;

  @ApiProperty({ description: 'Seconds it has left now.', nullable: true, type: Number, example: 7031 })
  expiresIn!: number | null;

  @ApiProperty({
    description: 'When it is due for refresh.',
    nullable: true,
    type: String,
    format: 'date-time',
  })
  nextRefreshAt!: string | null;

  @ApiProperty({
    description:
      'What fetched it: `missing` (a caller had none), `expiring` (the schedule), `invalid-report` (a client ' +
      'reported it invalid), `operator` (a force refresh), `store-unreachable` (renewed while the store was down).',
    nullable: true,
    type: String,
    example: 'expiring',
  })
  source!: string | null;

  @ApiProperty({ type: UpstreamCallsTodayDto })
  upstreamCallsToday!: UpstreamCallsTodayDto;

  @ApiProperty({ description: 'force_refresh calls left today.', example: 20 })
  forceRefreshBudgetLeft!: number;

  @ApiProperty({ type: InvalidReportsTodayDto })
  invalidReportsToday!: InvalidReportsTodayDto;

  @ApiProperty({
    description: 'Young tokens killed by someone else today (another environment, a stray SDK).',
  })
  foreignInvalidationsToday!: number;

  // NOTE: OpenAPI 3.0 ignores `nullable` beside a bare $ref or allOf (it needs a `type` in the same object),
  // so a strict validator would refuse the null that healthy accounts answer: null is its own branch
  @ApiProperty({
    description: 'Set while refreshes fail, null otherwise.',
    oneOf: [{ $ref: getSchemaPath(AccountLastErrorDto) }, { type: 'object', nullable: true, enum: [null] }],
  })
  lastError!: AccountLastErrorDto | null;
}

/** Answer of `GET /api/v1/accounts`. */
@ApiSchema({ name: 'AccountsState' })
export class AccountsStateDto {
  @ApiProperty({
    description: 'The shared store in use (kind and address, never a password).',
    example: 'redis',
  })
  store!: string;

  @ApiProperty({ type: [AccountStateDto] })
  accounts!: AccountStateDto[];
}
