import { ForceRefreshRefusedError } from '../token/errors/force-refresh-refused.error';
import { TokenUnavailableError } from '../token/errors/token-unavailable.error';
import type { RefreshOutcome } from '../token/token-refresher';
import type { AuditAction, AuditActor, AuditEvent } from './audit-entry';

/** What each outcome of an invalid-token report is recorded as. */
export const REPORT_AUDIT: Readonly<Record<RefreshOutcome, { reason: string; refreshed: boolean }>> = {
  'stale-report': { reason: 'stale report ignored: the token was already replaced', refreshed: false },
  'false-report': { reason: 'false report: WeChat still accepts the token', refreshed: false },
  refreshed: { reason: 'refreshed', refreshed: true },
  forced: { reason: 'the token was dead: force-refreshed', refreshed: true },
  fresh: { reason: 'fresh', refreshed: false },
};

const RID = /\brid:\s*([0-9a-zA-Z]+(?:-[0-9a-zA-Z]+)*)\s*$/;

/** The ` rid: …` request id WeChat appends to an errmsg. */
export function ridOf(errmsg: string | undefined): string | undefined {
  return errmsg === undefined ? undefined : RID.exec(errmsg)?.[1];
}

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
