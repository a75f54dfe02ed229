import { Controller, Get, Query, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import type { AuditEntry } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { AdminAuthGuard } from './admin-auth.guard';
import { AuditQueryDto } from './audit-query.dto';

const DEFAULT_LIMIT = 100;

/** `GET /api/v1/audit`: the audit log, newest first (admin API key, rate limited like the other admin routes). */
@Controller('api/v1/audit')
@UseGuards(AdminAuthGuard)
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  /**
   * `?appId=&action=&limit=&before=`: `{store, entries}`. Page back with `before` = the last entry's `id`.
   * Entries name who acted (`key#…`, `gateway:key#…`, `sdk`, `internal`, `file-watch`) and never a token or secret.
   * 503 when the store (Redis) cannot be reached.
   */
  @Get()
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
