import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

const ACCOUNT_STATUSES = ['live', 'refreshing', 'failing', 'missing'];

/** The shared store's part of the health report. */
@ApiSchema({ name: 'HealthStore' })
export class HealthStoreDto {
  @ApiProperty({ description: 'Which store (kind and address, never a password).', example: 'redis' })
  description!: string;

  @ApiProperty({ enum: ['up', 'down'] })
  status!: 'up' | 'down';
}

/**
 * Answer of `GET /health` (200 when `status` is `ok`, 503 otherwise); `store` and `accounts` only for a caller with
 * an admin API key.
 */
@ApiSchema({ name: 'HealthReport' })
export class HealthReportDto {
  @ApiProperty({ enum: ['ok', 'error'] })
  status!: 'ok' | 'error';

  @ApiPropertyOptional({ type: HealthStoreDto, description: 'With an admin API key only.' })
  store?: HealthStoreDto;

  @ApiPropertyOptional({
    description: "Each account's token status, by AppID. With an admin API key only.",
    type: 'object',
    additionalProperties: { type: 'string', enum: ACCOUNT_STATUSES },
    example: { wxAPPID: 'live' },
  })
  accounts?: Record<string, string>;
}

/** Answer of the terminus probes `GET /health/live` and `GET /health/ready`. */
@ApiSchema({
  name: 'HealthCheckResult',
  description: "@nestjs/terminus's format, with per-indicator details.",
})
export class HealthCheckResultDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] })
  status!: string;

  @ApiPropertyOptional({ description: 'Indicators that are up.', type: 'object', additionalProperties: true })
  info?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Indicators that are down.',
    type: 'object',
    additionalProperties: true,
  })
  error?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Every indicator (with an admin API key only, on /health/ready).',
    type: 'object',
    additionalProperties: true,
  })
  details?: Record<string, unknown>;
}
