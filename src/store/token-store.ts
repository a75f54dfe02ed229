import type { TokenEndpoint } from '../accounts/account-config';

/** A credential as stored centrally. `version` only grows; a write is compare-and-set on it. */
export interface CredentialRecord {
  value: string;
  version: number;
  /** ms since epoch */
  fetchedAt: number;
  /** ms since epoch */
  expiresAt: number;
  endpoint: TokenEndpoint;
  /** why it was fetched: schedule, cold, invalid-report, force, … */
  source: string;
  /**
   * A kind's companion secret that WeChat returns with the value and that must be stored with it (an authorizer's
   * refresh token): written in the same compare-and-set as the value, so the stored pair is always one fetch's.
   * Absent for kinds that have none (records written before it existed read as such).
   */
  refreshToken?: string;
}

/**
 * Which credential of an account a record holds: the last part of its key (`token`, `jsapi_ticket`,
 * `wx_card_ticket`, and the kinds defined later such as `component_token`, `authorizer_token`). Lowercase
 * letters, digits and `_`.
 */
export type CredentialKindId = string;

export interface CredentialChange {
  appId: string;
  kind: CredentialKindId;
  version: number;
}

export type ForceReservation =
  | { granted: true; used: number }
  | { granted: false; reason: 'budget' | 'spacing'; used: number; retryAfterMs: number };

/**
 * Where the token plane keeps shared state. Redis in a fleet; memory for one instance.
 * Every key of an account carries the account's hash tag so one Redis Cluster slot holds them all.
 */
export interface TokenStore {
  readonly description: string;
  get(appId: string, kind: CredentialKindId): Promise<CredentialRecord | null>;
  /**
   * Stores `record` only if the stored version is `expectedVersion` (0 when nothing is stored), then
   * notifies every instance. Returns the record that is current afterwards.
   */
  compareAndSet(
    appId: string,
    kind: CredentialKindId,
    record: CredentialRecord,
    expectedVersion: number,
  ): Promise<{ stored: boolean; current: CredentialRecord | null }>;
  /** Lease lock: granted to `owner` for `ttlMs` unless someone else holds it. */
  tryLock(appId: string, name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Releases only if `owner` still holds it. */
  releaseLock(appId: string, name: string, owner: string): Promise<boolean>;
  /** Extends only if `owner` still holds it. */
  extendLock(appId: string, name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Subscribes to changes made by any instance (including this one). Returns an unsubscribe function. */
  onChange(listener: (change: CredentialChange) => void): () => void;
  /** Adds to one of the account's daily counters (day = `YYYYMMDD` in China time) and returns the new value. */
  incrementCounter(appId: string, day: string, field: string, by?: number): Promise<number>;
  getCounters(appId: string, day: string): Promise<Record<string, number>>;
  /** Atomically takes one force refresh from the daily budget, honouring the minimum spacing. */
  reserveForce(
    appId: string,
    day: string,
    nowMs: number,
    dailyBudget: number,
    minIntervalMs: number,
  ): Promise<ForceReservation>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const TokenStore = Symbol('TokenStore');

export const FORCE_COUNTER = 'force_refresh';
