import type { AuditAction, AuditEntry, AuditRecord } from './audit-entry';

/** A page of the audit log, newest first. */
export interface AuditQuery {
  appId?: string;
  action?: AuditAction;
  /** 1..1000 */
  limit: number;
  /** Only entries older than this id. */
  before?: string;
}

/**
 * Where audit entries are kept: a capped Redis stream in a fleet, a capped array for one instance. Entries past the
 * cap are dropped, oldest first.
 */
export interface AuditStore {
  readonly description: string;
  /** Stores the entry; resolves to its id. */
  append(record: AuditRecord): Promise<string>;
  /** Newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]>;
}

export const AuditStore = Symbol('AuditStore');

/** `<ms>-<seq>`, the id format of Redis streams (also used by the in-memory store). */
export const AUDIT_ID = /^\d{1,20}-\d{1,20}$/;

/** Orders two ids `<ms>-<seq>`. */
export function compareAuditIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** Whether an entry passes the query's filters. */
export function matchesAuditQuery(entry: AuditEntry, query: AuditQuery): boolean {
  return (
    (query.appId === undefined || entry.appId === query.appId) &&
    (query.action === undefined || entry.action === query.action)
  );
}
