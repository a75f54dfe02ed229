import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { AUDIT_ACTIONS, type AuditAction } from '../audit/audit-entry';
import { AUDIT_ID } from '../audit/audit-store';
import { APP_ID_MESSAGE, APP_ID_PATTERN } from '../accounts/app-id';

/** `GET /api/v1/audit` query. */
export class AuditQueryDto {
  /** Only entries of this account. */
  @ApiPropertyOptional({ description: 'Only entries of this account.', example: 'wxAPPID' })
  @IsOptional()
  @Matches(APP_ID_PATTERN, { message: APP_ID_MESSAGE })
  appId?: string;

  /** Only entries of this action. */
  @ApiPropertyOptional({ enum: AUDIT_ACTIONS, description: 'Only entries of this action.' })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS, { message: `action must be one of ${AUDIT_ACTIONS.join(', ')}` })
  action?: AuditAction;

  /** Entries per page, newest first: 1..1000, default 100. */
  @ApiPropertyOptional({
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Entries per page, newest first.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(1000)
  limit?: number;

  /** Only entries older than this id (the `id` of the last entry of the previous page). */
  @ApiPropertyOptional({
    description: 'Only entries older than this id (paging).',
    example: '1700000000000-0',
  })
  @IsOptional()
  @Matches(AUDIT_ID, { message: 'before must be an audit entry id such as 1700000000000-0' })
  before?: string;
}
