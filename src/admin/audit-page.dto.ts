import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, type AuditResult } from '../audit/audit-entry';

/** One entry of `GET /api/v1/audit`. */
@ApiSchema({ name: 'AuditEntry' })
export class AuditEntryDto implements AuditEntry {
  @ApiProperty({
    description: 'Stream id `<ms>-<seq>`; pass the last one as `before` to page back.',
    example: '1700000000000-0',
  })
  id!: string;

  @ApiProperty({ description: 'When (ISO 8601).', example: '2026-11-21T08:00:00.000Z' })
  time!: string;

  @ApiProperty({ enum: AUDIT_ACTIONS, example: 'token.force_refresh' })
  action!: AuditAction;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The account, when the action concerns one.',
    example: 'wxAPPID',
  })
  appId!: string | null;

  @ApiProperty({
    description:
      'Who: `key#<8 hex>` (admin key fingerprint), `gateway:key#…`, `sdk`, `internal` or `file-watch`.',
    example: 'key#1a2b3c4d',
  })
  actor!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Client address (TRUST_PROXY applied).',
    example: '10.0.0.7',
  })
  ip!: string | null;

  @ApiProperty({ enum: ['ok', 'refused', 'failed'], example: 'ok' })
  result!: AuditResult;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why, in a few words (never a token or a secret).',
  })
  reason!: string | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: "WeChat's errcode, when WeChat answered with an error.",
  })
  errcode!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: "WeChat's request id (`rid`), for WeChat's support.",
  })
  rid!: string | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'The token version now current, after a refresh.',
  })
  version!: number | null;

  @ApiProperty({ description: 'The hub instance that wrote it (`host:pid`).', example: 'wxhub-7d9f:1' })
  instance!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'Small extra facts (report outcome, reloaded appIds, clear_quota variant).',
  })
  details!: Record<string, unknown> | null;
}

/** Answer of `GET /api/v1/audit`. */
@ApiSchema({ name: 'AuditPage' })
export class AuditPageDto {
  @ApiProperty({
    description: 'Where the log is kept (Redis stream or in memory).',
    example: 'redis stream wxhub:audit',
  })
  store!: string;

  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first.' })
  entries!: AuditEntryDto[];
}
