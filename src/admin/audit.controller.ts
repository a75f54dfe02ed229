import { Controller, Get, Query, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ADMIN_AUTH_ERRORS, ApiErrorResponses } from '../docs/api-error-responses.decorator';
import { ADMIN_KEY_SCHEME } from '../docs/openapi.constants';
import type { AuditEntry } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { AdminAuthGuard } from './admin-auth.guard';
import { AuditPageDto } from './audit-page.dto';
import { AuditQueryDto } from './audit-query.dto';

const DEFAULT_LIMIT = 100;

/** `GET /api/v1/audit`: the audit log, newest first (admin API key, rate limited like the other admin routes). */
@Controller('api/v1/audit')
@UseGuards(AdminAuthGuard)
@ApiTags('audit')
@ApiBearerAuth(ADMIN_KEY_SCHEME)
@ApiErrorResponses(ADMIN_AUTH_ERRORS)
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  /**
   * `?appId=&action=&limit=&before=`: `{store, entries}`. Page back with `before` = the last entry's `id`.
   * Entries name who acted (`key#…`, `gateway:key#…`, `sdk`, `internal`, `file-watch`) and never a token or secret.
   * 503 when the store (Redis) cannot be reached.
   */
  @Get()
  @ApiOperation({
    summary: 'The audit log, newest first',
    description:
      'Forced refreshes, invalid-token reports, account changes and clear_quota calls: who, when, result, ' +
      "WeChat's errcode and rid. Filter with `appId` and `action`, page back with `before`.",
  })
  @ApiOkResponse({ type: AuditPageDto, description: 'One page of entries.' })
  @ApiErrorResponses([400, 503])
  async list(@Query() query: AuditQueryDto): Promise<{ store: string; entries: AuditEntry[] }> {
    try {
      const entries = await this.audit.list({
        appId: query.appId,
        action: query.action,
        limit: query.limit ?? DEFAULT_LIMIT,
        before: query.before,
      });
      return { store: this.audit.description, entries };
    } catch (error) {
      throw new ServiceUnavailableException(`the audit log cannot be read now: ${(error as Error).message}`);
    }
  }
}
