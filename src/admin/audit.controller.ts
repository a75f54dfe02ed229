import { Controller, Get, Query, Req, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ADMIN_AUTH_ERRORS, ApiErrorResponses } from '../docs/api-error-responses.decorator';
import { ADMIN_KEY_SCHEME } from '../docs/openapi.constants';
import type { AuditEntry } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { requestPrincipal } from '../audit/request-actor';
import { assertAuthorized, canUseAccount, type Principal } from '../clients/principal';
import { EVERY_APP_ID } from '../clients/clients-parser';
import { AdminAuthGuard } from './admin-auth.guard';
import { RequireScope } from './require-scope.decorator';
import { AuditPageDto } from './audit-page.dto';
import { AuditQueryDto } from './audit-query.dto';

const DEFAULT_LIMIT = 100;
/** How many pages of the whole log are scanned for a client limited to some accounts. */
const MAX_SCANNED_PAGES = 10;

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
  @RequireScope('operate', 'none')
  @ApiOperation({
    summary: 'The audit log, newest first',
    description:
      'Forced refreshes, invalid-token reports, account changes and clear_quota calls: who, when, result, ' +
      "WeChat's errcode and rid. Filter with `appId` and `action`, page back with `before`.",
  })
  @ApiOkResponse({ type: AuditPageDto, description: 'One page of entries.' })
  @ApiErrorResponses([400, 503])
  async list(
    @Query() query: AuditQueryDto,
    @Req() request: FastifyRequest,
  ): Promise<{ store: string; entries: AuditEntry[] }> {
    const principal = requestPrincipal(request);
    if (principal && query.appId !== undefined) assertAuthorized(principal, 'operate', query.appId);
    try {
      const filter = { appId: query.appId, action: query.action, limit: query.limit ?? DEFAULT_LIMIT };
      if (!principal || principal.appIds === EVERY_APP_ID || query.appId !== undefined) {
        const entries = await this.audit.list({ ...filter, before: query.before });
        return { store: this.audit.description, entries };
      }
      return {
        store: this.audit.description,
        entries: await this.ownEntries(principal, filter, query.before),
      };
    } catch (error) {
      throw new ServiceUnavailableException(`the audit log cannot be read now: ${(error as Error).message}`);
    }
  }

  /** A page of the entries about a client's own accounts (fleet-wide entries such as reloads are left out). */
  private async ownEntries(
    principal: Principal,
    filter: { action?: AuditQueryDto['action']; limit: number },
    before: string | undefined,
  ): Promise<AuditEntry[]> {
    const own: AuditEntry[] = [];
    // NOTE: a bounded scan back through the log; a page may come back short when the client's accounts are quiet
    for (let page = 0; page < MAX_SCANNED_PAGES && own.length < filter.limit; page += 1) {
      const entries = await this.audit.list({ action: filter.action, limit: filter.limit, before });
      for (const entry of entries) {
        if (entry.appId && canUseAccount(principal, entry.appId) && own.length < filter.limit)
          own.push(entry);
      }
      if (entries.length < filter.limit) break;
      before = entries[entries.length - 1]!.id;
    }
    return own;
  }
}
