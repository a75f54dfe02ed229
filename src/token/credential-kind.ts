import type { TokenEndpoint } from '../accounts/account-config';
import type { CredentialKindId, CredentialRecord } from '../store/token-store';
import type { UpstreamTokenError } from './errors/upstream-token.error';

/**
 * How a credential behaves when fetched again.
 * - `stable`: WeChat hands every caller the same value until its last minutes (the stable access token), so a
 *   second fetch does not kill the first: instances may renew it on their own when the store is unreachable, and
 *   the schedule keeps its jitter clear of the rotation window.
 * - `rotating`: every fetch issues a new value and may kill the previous one (legacy access token, JS-SDK tickets,
 *   component and authorizer tokens): only the holder of the fleet-wide lock fetches.
 */
export type Rotation = 'stable' | 'rotating';

/** Which IDs a kind refreshes on its schedule (CredentialKind.scope). */
export interface CredentialScope {
  /** Whether `id` is still the kind's to refresh (a removed account, a revoked authorizer: no longer). */
  owns(id: string): boolean;
  /** The IDs planned from boot, before anything reads them. */
  atBoot(): readonly string[];
}

/** What a kind's fetch is given. */
export interface FetchContext {
  appId: string;
  /** The stored record the fetch replaces (its `refreshToken` is the one to present), null when none. */
  current: CredentialRecord | null;
  /** An operator's (or a dead token's) forced refresh, for kinds that support one. */
  force: boolean;
  /** Adds one to the kind's day counter (`dayCounter`); call it once per upstream call. */
  countCall(): void;
}

/** One fetch's answer, about to be stored. */
export interface FetchedCredential {
  value: string;
  expiresInSeconds: number;
  /** ms since epoch when the request left: expiry is measured from here, so it is never later than WeChat's. */
  startedAt: number;
  /**
   * The refresh token WeChat returned with the value (kinds with `persistsRefreshToken`): stored in the same
   * compare-and-set as the value. Omitted: the stored one is kept.
   */
  refreshToken?: string;
}

/**
 * A kind of credential: what differs between an access token, a JS-SDK ticket, a component or authorizer token.
 * Everything else — the lease lock, version compare-and-set, schedule, change notifications, the in-process copy,
 * single-flight, failure backoff, day counters — is the engine's (CredentialEngine), the same for every kind.
 *
 * A kind whose fetch needs another credential (a ticket needs the access token, an authorizer token the component
 * token) reads it through that credential's engine inside `fetch`; a fetch that returns a refresh token to keep
 * sets `persistsRefreshToken`, and the engine writes both in one compare-and-set, so an older fetch never
 * overwrites a newer token and refresh-token pair.
 */
export interface CredentialKind {
  /** The record's key in the store (`<prefix>:{<appId>}:<id>`), the lock's name and the metrics label. */
  readonly id: CredentialKindId;
  /** For logs and errors: `jsapi ticket`, `component token`. */
  readonly label: string;
  rotation(appId: string): Rotation;
  /** The endpoint recorded with a fetched value. */
  endpoint(appId: string): TokenEndpoint;
  /**
   * Never handed out with less than this left, and refreshed ahead by this much more than the plane's
   * refresh-ahead window (component and authorizer tokens: 10 minutes). Default: the plane's minimum.
   */
  readonly minRemainingMs?: number;
  /** The day counter field (per account, China day) `FetchContext.countCall` adds to. */
  readonly dayCounter?: string;
  /** The kind's fetch returns a refresh token that is stored with the value. */
  readonly persistsRefreshToken?: boolean;
  /** Whether an operator's forced refresh exists for this kind (spending the account's daily force budget). */
  readonly forceable?: boolean;
  /** ms to wait before the next attempt after `attempt` consecutive failures (1 = the first). */
  backoffMs(error: UpstreamTokenError, attempt: number, current: CredentialRecord | null): number;
  /**
   * A failure no retry can fix (an authorizer's refresh token refused with 61023): the state the credential is left
   * in (`needs-reauthorization`). The engine then makes no further fetch and the schedule drops it, until
   * `CredentialEngine.forgetFailure` (a new authorization) and `TokenScheduler.track` re-arm it.
   */
  terminal?(error: UpstreamTokenError): string | undefined;
  /** Failures that need a person (settings, quota) are logged as errors, the others as warnings. */
  needsAttention(error: UpstreamTokenError): boolean;
  /**
   * The IDs this kind holds credentials for, when they are not the configured accounts (a component's authorizers
   * live in the store): the schedule refreshes a credential only while `owns` says it is the kind's, and plans
   * `atBoot()` from boot. Default: the accounts of the registry, planned from their first use.
   */
  readonly scope?: CredentialScope;
  /**
   * One upstream fetch. Throws UpstreamTokenError (counted as a failure, backed off) or TokenUnavailableError
   * (a credential it needs is unavailable: passed through, no backoff of its own).
   */
  fetch(context: FetchContext): Promise<FetchedCredential>;
}
