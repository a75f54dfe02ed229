import { Injectable, Optional } from '@nestjs/common';
import type { AuditAction, AuditActor, AuditEvent } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { ridOf } from '../audit/token-audit';
import type { CredentialRecord } from '../store/token-store';
import { ForceRefreshRefusedError } from './errors/force-refresh-refused.error';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { TokenRefresher, type RefreshOutcome } from './token-refresher';

/** What each outcome of an invalid-token report is recorded as. */
export const REPORT_AUDIT: Readonly<Record<RefreshOutcome, { reason: string; refreshed: boolean }>> = {
  'stale-report': { reason: 'stale report ignored: the token was already replaced', refreshed: false },
  'false-report': { reason: 'false report: WeChat still accepts the token', refreshed: false },
  refreshed: { reason: 'refreshed', refreshed: true },
  forced: { reason: 'the token was dead: force-refreshed', refreshed: true },
  fresh: { reason: 'fresh', refreshed: false },
};

/**
 * The audit event of a token operation that threw: `refused` when the force budget or spacing forbade it, `failed`
 * otherwise (with WeChat's errcode, and the rid found in `errmsg`, the errmsg of the failed token call).
 */
export function auditFailure(
  action: AuditAction,
  appId: string,
  actor: AuditActor | undefined,
  error: unknown,
  errmsg: string | undefined,
): AuditEvent {
  if (error instanceof ForceRefreshRefusedError) {
    return {
      action,
      appId,
      actor,
      result: 'refused',
      reason: error.reason === 'budget' ? 'budget spent' : error.message,
      details: { refusal: error.reason },
    };
  }
  if (error instanceof TokenUnavailableError) {
    return {
      action,
      appId,
      actor,
      result: 'failed',
      reason: error.reason,
      errcode: error.errcode,
      rid: ridOf(errmsg),
    };
  }
  return { action, appId, actor, result: 'failed', reason: (error as Error)?.message ?? String(error) };
}

/**
 * The audit hooks of the token operations operators and callers trigger (invalid-token reports, forced
 * refreshes). Never awaited: the audit log never delays or fails the operation it records.
 */
@Injectable()
export class TokenAudit {
  constructor(
    private readonly refresher: TokenRefresher,
    @Optional() private readonly audit?: AuditLog,
  ) {}

  reported(
    appId: string,
    actor: AuditActor | undefined,
    outcome: RefreshOutcome,
    record: CredentialRecord,
  ): void {
    const audit = REPORT_AUDIT[outcome];
    this.record({
      action: 'token.invalid_report',
      appId,
      actor,
      result: 'ok',
      reason: audit.reason,
      version: audit.refreshed ? record.version : undefined,
      details: { outcome },
    });
  }

  forced(appId: string, actor: AuditActor | undefined, record: CredentialRecord): void {
    this.record({ action: 'token.force_refresh', appId, actor, result: 'ok', version: record.version });
  }

  /** `action` on `appId`, started at `startedAt`, threw `error`. */
  failed(
    action: 'token.invalid_report' | 'token.force_refresh',
    appId: string,
    actor: AuditActor | undefined,
    error: unknown,
    startedAt: number,
  ): void {
    // WeChat's errmsg (it carries the rid) of a token call that failed during this operation
    const failure = this.refresher.failureOf(appId);
    const errmsg = failure && failure.at >= startedAt ? failure.error.errmsg : undefined;
    this.record(auditFailure(action, appId, actor, error, errmsg));
  }

  private record(event: AuditEvent): void {
    void this.audit?.record(event);
  }
}
