/** What an audit entry records. */
export const AUDIT_ACTIONS = [
  'token.force_refresh',
  'token.invalid_report',
  'accounts.reload',
  'account.added',
  'account.removed',
  'account.changed',
  'quota.clear',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * `ok`: done as asked (a stale or false invalid report, answered with the current token, is `ok` with its reason);
 * `refused`: the hub declined (force budget spent, too soon); `failed`: WeChat or the store failed.
 */
export type AuditResult = 'ok' | 'refused' | 'failed';

/**
 * Who asked. `id` is never a secret: `key#<8 hex>` (a fingerprint of the admin API key), `gateway:key#<8 hex>`,
 * `sdk` (a drop-in caller authenticated by appid + secret, or by a token the hub handed out), `internal` (this
 * process: the API client, ticket and callback planes, a library user), `file-watch` (WECHAT_ACCOUNTS_FILE changed).
 */
export interface AuditActor {
  id: string;
  /** The client address as computed with TRUST_PROXY, when a request came in. */
  ip?: string;
}

/** The caller of TokenService and the API client when nobody else is named. */
export const INTERNAL_ACTOR: AuditActor = Object.freeze({ id: 'internal' });

/** One event as recorded by AuditLog.record (the log adds `id`, `time` and `instance`). */
export interface AuditEvent {
  action: AuditAction;
  appId?: string | null;
  actor?: AuditActor;
  result: AuditResult;
  /** Why, in a few words: `budget`, `stale report ignored`, WeChat's errmsg… Never a token or a secret. */
  reason?: string;
  /** WeChat's errcode and request id, when WeChat answered with an error. */
  errcode?: number;
  rid?: string;
  /** The token version now current, when a refresh happened. */
  version?: number;
  /** Small extra facts (the outcome of an invalid report, the appIds of a reload, the clear_quota variant). */
  details?: Record<string, string | number | boolean | string[]>;
}

/** A stored audit entry, as `GET /api/v1/audit` returns it. */
export interface AuditEntry {
  /** Stream id `<ms>-<seq>`: grows with time; pass it as `before` to page back. */
  id: string;
  /** ISO 8601. */
  time: string;
  action: AuditAction;
  appId: string | null;
  actor: string;
  ip: string | null;
  result: AuditResult;
  reason: string | null;
  errcode: number | null;
  rid: string | null;
  version: number | null;
  /** The hub instance that wrote it (`host:pid`). */
  instance: string;
  details: Record<string, unknown> | null;
}

/** The entry without its id, as handed to a store. */
export type AuditRecord = Omit<AuditEntry, 'id'>;
