import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { accountKind } from '../accounts/account-config';
import { AccountRegistry } from '../accounts/account-registry';
import { auditFailure, REPORT_AUDIT } from '../audit/token-audit';
import type { AuditActor } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { chinaDay } from '../common/time';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import { FORCE_COUNTER } from '../store/token-store';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { COUNTERS, InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { TokenRefresher, type RefreshOutcome } from './token-refresher';
import { TokenScheduler } from './token-scheduler';

/** An access_token as handed out by the hub. */
export interface AccessToken {
  /** The token to put in `?access_token=`. */
  readonly value: string;
  /** Grows by one each time the account's token changes. */
  readonly version: number;
  /** When WeChat stops accepting it (measured conservatively from when the request left). */
  readonly expiresAt: Date;
}

/**
 * Told of every new token value, version or expiry this instance comes to hold. `forcedByOperator`: the token
 * replaced its predecessor through an operator's forced refresh (the response to a leaked token).
 */
export type TokenLearnedListener = (
  appId: string,
  token: AccessToken,
  how: { forcedByOperator: boolean },
) => void;

/** The state of one account, as shown to operators. Never a secret, never a token. */
export interface AccountTokenState {
  appId: string;
  kind: 'officialAccount' | 'miniProgram';
  endpoint: 'stable' | 'legacy';
  messageMode: 'plain' | 'compatible' | 'safe';
  status: 'live' | 'refreshing' | 'failing' | 'missing';
  version: number | null;
  fetchedAt: string | null;
  expiresAt: string | null;
  expiresIn: number | null;
  nextRefreshAt: string | null;
  source: string | null;
  upstreamCallsToday: { token: number; stableToken: number; stableTokenForce: number; probes: number };
  forceRefreshBudgetLeft: number;
  invalidReportsToday: { accepted: number; stale: number; false: number };
  foreignInvalidationsToday: number;
  lastError: { message: string; errcode: number | null; at: string; nextAttemptAt: string } | null;
}

/** What the token gauges show of one account (see TokenService.tokenGauges). */
export interface TokenGauge {
  appId: string;
  /** Seconds the token this instance holds can still be used; null without one. */
  expiresIn: number | null;
  forceRefreshBudgetLeft: number;
}

/** Force refreshes spent today as last read from the store; `epoch` detects a change noticed during the read. */
interface ForceUse {
  day: string;
  used: number;
  epoch: number;
}

interface L1Entry {
  record: CredentialRecord;
  token: AccessToken;
  /** Trusted without asking the store until then. */
  checkedUntil: number;
}

/**
 * The token plane's public face: every caller in every process gets the one current access_token of an
 * account. Reads come from an in-process copy (a few seconds old at most, dropped at once when any instance
 * changes the token), then the shared store, and wait on a refresh only when no live token exists.
 */
@Injectable()
export class TokenService implements OnModuleDestroy {
  private readonly logger = new Logger(TokenService.name);
  private readonly l1 = new Map<string, L1Entry>();
  private readonly reads = new Map<string, Promise<CredentialRecord | null>>();
  private readonly unsubscribe: () => void;
  private readonly learnedListeners = new Set<TokenLearnedListener>();
  private readonly unsubscribePlanned: () => void;
  private readonly forceUse = new Map<string, ForceUse>();
  /** Bumped when an account's force counter may have changed (a forced or reported token was learned). */
  private readonly forceEpochs = new Map<string, number>();
  /** When a read of the store last failed; 0 once it answers again. */
  private storeFailedAt = 0;

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly refresher: TokenRefresher,
    private readonly accounts: AccountRegistry,
    private readonly scheduler: TokenScheduler,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
    @Optional() private readonly audit?: AuditLog,
  ) {
    this.unsubscribe = store.onChange((change) => {
      const entry = this.l1.get(change.appId);
      if (!entry || entry.record.version > change.version) return;
      entry.checkedUntil = 0;
      // fetch the new token now, while the store answers: if it becomes unreachable later, the copy kept in
      // memory must be the newest token, not the one just replaced
      this.readShared(change.appId).catch(() => undefined);
    });
    // the scheduler reads every account's record at boot and after each change: keeping it here too gives this
    // instance a current copy of every token, so health and gauges need no store read per account
    this.unsubscribePlanned = scheduler.onPlannedRecord((appId, kind, record) => {
      if (kind === 'token') this.learn(appId, record);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    this.unsubscribePlanned();
  }

  /** The current access_token of `appId`. Throws TokenUnavailableError when none can be had in time. */
  async getAccessToken(appId: string): Promise<string> {
    return (this.cachedToken(appId) ?? (await this.readSlow(appId))).value;
  }

  /** Like getAccessToken, with the version and expiry. */
  async getToken(appId: string): Promise<AccessToken> {
    return this.cachedToken(appId) ?? this.readSlow(appId);
  }

  /**
   * What getToken answers at once: the in-process copy while it is within its re-check interval (and no change
   * message has dropped it). `undefined` when getToken would have to ask the store or refresh, or for an unknown
   * account. For hot paths that answer synchronously and fall back to getToken.
   */
  cachedToken(appId: string): AccessToken | undefined {
    const entry = this.l1.get(appId);
    return entry !== undefined && Date.now() < entry.checkedUntil ? entry.token : undefined;
  }

  /**
   * A caller saw 40001/40014/42001 with `token`. Refreshes only if it is still the current token
   * (compare-and-refresh; concurrent reports of one token share one refresh) and returns the token to use now.
   * `actor` names the caller in the audit log (default `internal`).
   */
  async reportInvalid(appId: string, token: string, actor?: AuditActor): Promise<AccessToken> {
    return (await this.reportInvalidWithOutcome(appId, token, actor)).token;
  }

  /** reportInvalid, also telling what the report led to. */
  async reportInvalidWithOutcome(
    appId: string,
    token: string,
    actor?: AuditActor,
  ): Promise<{ token: AccessToken; outcome: RefreshOutcome }> {
    this.accounts.getOrThrow(appId);
    const entry = this.l1.get(appId);
    if (entry && entry.record.value === token) entry.checkedUntil = 0;
    const startedAt = Date.now();
    let result;
    try {
      result = await this.refresher.refresh(appId, { kind: 'invalid', token });
    } catch (error) {
      this.recordAudit(
        auditFailure('token.invalid_report', appId, actor, error, this.failureSince(appId, startedAt)),
      );
      throw error;
    }
    if (result.outcome === 'stale-report') this.count(appId, COUNTERS.reportsStale);
    const audit = REPORT_AUDIT[result.outcome];
    this.recordAudit({
      action: 'token.invalid_report',
      appId,
      actor,
      result: 'ok',
      reason: audit.reason,
      version: audit.refreshed ? result.record.version : undefined,
      details: { outcome: result.outcome },
    });
    return { token: this.remember(appId, result.record).token, outcome: result.outcome };
  }

  /**
   * An operator's forced refresh: spends one of the account's daily force refreshes (20 a day, 30 s apart).
   * Throws ForceRefreshRefusedError when the budget or spacing forbids it. `actor` names the operator in the audit log.
   */
  async forceRefresh(appId: string, actor?: AuditActor): Promise<AccessToken> {
    this.accounts.getOrThrow(appId);
    const startedAt = Date.now();
    let result;
    try {
      result = await this.refresher.refresh(appId, { kind: 'force' });
    } catch (error) {
      this.recordAudit(
        auditFailure('token.force_refresh', appId, actor, error, this.failureSince(appId, startedAt)),
      );
      throw error;
    }
    this.recordAudit({
      action: 'token.force_refresh',
      appId,
      actor,
      result: 'ok',
      version: result.record.version,
    });
    return this.remember(appId, result.record).token;
  }

  /**
   * For health checks: whether an account holds a live token, is getting one, or is failing — from what this
   * instance holds (its copy of every account's token, kept current by the store's change notifications and the
   * scheduler), so a probe costs no store read per account.
   */
  async status(appId: string): Promise<AccountTokenState['status']> {
    return this.statusNow(appId, Date.now());
  }

  /**
   * The token gauges of every account from this instance's copies. The force budget is read from the store only
   * for accounts whose force counter may have changed since it was last read (a forced or reported token was
   * learned, this instance's refresh failed after a reservation, or a new China day began), so a scrape costs
   * store reads in proportion to refreshes, not to accounts.
   */
  async tokenGauges(): Promise<TokenGauge[]> {
    const accounts = this.accounts.list();
    const used = await this.forceUsedToday(
      accounts.map((a) => a.appId),
      chinaDay(Date.now()),
    );
    const now = Date.now();
    return accounts.map(({ appId }) => {
      const record = this.l1.get(appId)?.record;
      return {
        appId,
        expiresIn: record ? Math.max(0, Math.floor((record.expiresAt - now) / 1000)) : null,
        forceRefreshBudgetLeft: Math.max(0, this.options.forceDailyBudget - (used.get(appId) ?? 0)),
      };
    });
  }

  /** Throws when the shared store cannot be reached. */
  async pingStore(): Promise<void> {
    await this.store.ping();
  }

  /** The last known live token without triggering a refresh. */
  async peek(appId: string): Promise<AccessToken | null> {
    const record = await this.readShared(appId);
    return this.refresher.usable(record) ? this.remember(appId, record).token : null;
  }

  /** Every account's state for operators. */
  async describeAccounts(): Promise<AccountTokenState[]> {
    const day = chinaDay(Date.now());
    return Promise.all(
      this.accounts.list().map(async (account): Promise<AccountTokenState> => {
        const [record, counters] = await Promise.all([
          this.readShared(account.appId).catch(() => this.l1.get(account.appId)?.record ?? null),
          this.store.getCounters(account.appId, day).catch(() => ({}) as Record<string, number>),
        ]);
        const now = Date.now();
        const failure = this.refresher.failureOf(account.appId);
        const next = this.scheduler.nextRefreshAt(account.appId);
        const live = this.refresher.usable(record, now);
        const c = (field: string): number => counters[field] ?? 0;
        return {
          appId: account.appId,
          kind: accountKind(account),
          endpoint: account.tokenEndpoint,
          messageMode: account.messageMode,
          status: live
            ? 'live'
            : this.refresher.refreshing(account.appId)
              ? 'refreshing'
              : failure
                ? 'failing'
                : 'missing',
          version: record?.version ?? null,
          fetchedAt: record ? new Date(record.fetchedAt).toISOString() : null,
          expiresAt: record ? new Date(record.expiresAt).toISOString() : null,
          expiresIn: record ? Math.max(0, Math.floor((record.expiresAt - now) / 1000)) : null,
          nextRefreshAt: next ? new Date(next).toISOString() : null,
          source: record?.source ?? null,
          upstreamCallsToday: {
            token: c(COUNTERS.legacyCalls),
            stableToken: c(COUNTERS.stableCalls),
            stableTokenForce: c(COUNTERS.forceCalls),
            probes: c(COUNTERS.probes),
          },
          forceRefreshBudgetLeft: Math.max(0, this.options.forceDailyBudget - c(FORCE_COUNTER)),
          invalidReportsToday: {
            accepted: c(COUNTERS.reportsAccepted),
            stale: c(COUNTERS.reportsStale),
            false: c(COUNTERS.reportsFalse),
          },
          foreignInvalidationsToday: c(COUNTERS.foreignInvalidations),
          lastError: failure
            ? {
                message: failure.error.message,
                errcode: failure.error.errcode ?? null,
                at: new Date(failure.at).toISOString(),
                nextAttemptAt: new Date(failure.retryAt).toISOString(),
              }
            : null,
        };
      }),
    );
  }

  /** Where the shared state lives (for operators). */
  get storeDescription(): string {
    return this.store.description;
  }

  /**
   * Calls `listener` with each token this instance comes to hold (fetched, read from the store, or announced by
   * another instance), once per new value/version/expiry. The gateway uses it to recognise tokens the hub handed
   * out. Returns the function that unsubscribes.
   */
  onTokenLearned(listener: TokenLearnedListener): () => void {
    this.learnedListeners.add(listener);
    return () => this.learnedListeners.delete(listener);
  }

  /** Drops the in-process copy of a removed account. */
  forget(appId: string): void {
    this.l1.delete(appId);
    this.forceUse.delete(appId);
    this.forceEpochs.delete(appId);
  }

  private statusNow(appId: string, now: number): AccountTokenState['status'] {
    if (this.refresher.usable(this.l1.get(appId)?.record ?? null, now)) return 'live';
    // a scheduled refresh waiting for its turn is getting a token as much as one running
    if (this.refresher.refreshing(appId) || this.scheduler.refreshDue(appId)) return 'refreshing';
    return this.refresher.failureOf(appId) ? 'failing' : 'missing';
  }

  /** A newer record than the one held (or a later expiry of the same one) replaces it. */
  private learn(appId: string, record: CredentialRecord): void {
    const held = this.l1.get(appId)?.record;
    if (
      held &&
      (held.version > record.version ||
        (held.version === record.version && held.expiresAt >= record.expiresAt))
    )
      return;
    this.remember(appId, record);
  }

  private async forceUsedToday(appIds: string[], day: string): Promise<Map<string, number>> {
    const used = new Map<string, number>();
    const reads: Promise<void>[] = [];
    for (const appId of appIds) {
      const known = this.forceUse.get(appId);
      const epoch = this.forceEpochs.get(appId) ?? 0;
      // a failing account may have spent a reservation on a call that then failed: no token tells us
      if (known && known.day === day && known.epoch === epoch && !this.refresher.failureOf(appId)) {
        used.set(appId, known.used);
        continue;
      }
      reads.push(
        this.store.getCounters(appId, day).then(
          (counters) => {
            const count = counters[FORCE_COUNTER] ?? 0;
            this.forceUse.set(appId, { day, used: count, epoch });
            used.set(appId, count);
          },
          () => {
            used.set(appId, known?.day === day ? known.used : 0);
          },
        ),
      );
    }
    await Promise.all(reads);
    return used;
  }

  /**
   * An account's settings changed at runtime (a fixed AppSecret, a whitelist entry added): the failures seen
   * with the old settings no longer predict anything, so their backoff is dropped and the refresh is planned
   * afresh — at once when the account has no live token, on its usual schedule when it has.
   */
  accountChanged(appId: string): void {
    this.refresher.forgetFailure(appId);
    this.scheduler.untrack(appId);
    this.scheduler.track(appId);
  }

  private async readSlow(appId: string): Promise<AccessToken> {
    this.accounts.getOrThrow(appId);
    const held = this.l1.get(appId);
    if (this.storeFailedAt !== 0 && held && this.refresher.usable(held.record)) {
      // the store did not answer last time: the copy is served now, the store asked (and the token renewed when
      // due) in the background, so no reader waits out a store timeout while there is a token to hand out
      this.readShared(appId).catch(() => undefined);
      return held.token;
    }
    const record = await this.readShared(appId);
    const now = Date.now();
    if (this.refresher.usable(record, now)) {
      if (this.refresher.needsRefresh(record, now)) this.refreshInBackground(appId);
      return this.remember(appId, record).token;
    }
    const result = await this.refresher.refresh(appId, { kind: 'missing' });
    return this.remember(appId, result.record).token;
  }

  /**
   * One store read per account at a time. When the store fails, the last known live token is served and
   * the store is asked again a second later; with no live token the caller gets TokenUnavailableError.
   */
  private readShared(appId: string): Promise<CredentialRecord | null> {
    let read = this.reads.get(appId);
    if (read) return read;
    read = this.store
      .get(appId, 'token')
      .then(
        (record) => {
          this.storeFailedAt = 0;
          const entry = this.l1.get(appId);
          if (
            entry &&
            this.refresher.usable(entry.record) &&
            (!record || record.version < entry.record.version)
          ) {
            this.repairStore(appId, entry.record, record);
            return entry.record;
          }
          if (record) this.remember(appId, record);
          return record;
        },
        (error: Error) => {
          const entry = this.l1.get(appId);
          const now = Date.now();
          this.storeFailedAt = now;
          if (entry && this.refresher.usable(entry.record, now)) {
            entry.checkedUntil = Math.min(now + 1000, entry.record.expiresAt - this.options.minServeMs);
            if (this.refresher.needsRefresh(entry.record, now)) {
              this.renewWithoutStore(appId, entry.record).catch(() => undefined);
            }
            return entry.record;
          }
          return this.renewWithoutStore(appId, entry?.record ?? null).catch((renewal: Error) => {
            throw new TokenUnavailableError(
              appId,
              `the token store is unreachable (${error.message}); ${renewal instanceof TokenUnavailableError ? renewal.reason : renewal.message}`,
              renewal instanceof TokenUnavailableError ? renewal.errcode : undefined,
              renewal instanceof TokenUnavailableError ? renewal.retryAfterMs : undefined,
            );
          });
        },
      )
      .finally(() => this.reads.delete(appId));
    this.reads.set(appId, read);
    return read;
  }

  /**
   * The store does not answer: a stable token is renewed without it (TokenRefresher.refreshWithoutStore) and kept
   * here; readShared writes it back (repairStore) once the store answers with an older version.
   */
  private async renewWithoutStore(
    appId: string,
    current: CredentialRecord | null,
  ): Promise<CredentialRecord> {
    const { record } = await this.refresher.refreshWithoutStore(appId, current);
    this.learn(appId, record);
    return this.l1.get(appId)?.record ?? record;
  }

  /** The store lost a newer token we still hold (e.g. a failover dropped the last write): put it back. */
  private repairStore(appId: string, mine: CredentialRecord, stored: CredentialRecord | null): void {
    this.store
      .compareAndSet(appId, 'token', mine, stored?.version ?? 0)
      .then(({ stored: ok }) => {
        if (ok) this.logger.warn(`the store had lost token version ${mine.version} of ${appId}; restored it`);
      })
      .catch(() => undefined);
  }

  private remember(appId: string, record: CredentialRecord): L1Entry {
    // never trusted past the refresh-ahead point, so the slow path notices the window and kicks a refresh
    const checkedUntil = Math.min(
      Date.now() + this.options.l1TtlMs,
      record.expiresAt - Math.max(this.options.refreshAheadMs, this.options.minServeMs),
    );
    const existing = this.l1.get(appId);
    if (
      existing &&
      existing.record.value === record.value &&
      existing.record.version === record.version &&
      existing.record.expiresAt === record.expiresAt
    ) {
      existing.checkedUntil = checkedUntil;
      return existing;
    }
    const token = Object.freeze({
      value: record.value,
      version: record.version,
      expiresAt: new Date(record.expiresAt),
    });
    const entry: L1Entry = { record, token, checkedUntil };
    this.l1.set(appId, entry);
    // these may have spent a force refresh (here or on another instance): the budget gauge re-reads it
    if (record.source === 'operator' || record.source === 'invalid-report')
      this.forceEpochs.set(appId, (this.forceEpochs.get(appId) ?? 0) + 1);
    for (const listener of this.learnedListeners)
      listener(appId, token, { forcedByOperator: record.source === 'operator' });
    return entry;
  }

  private refreshInBackground(appId: string): void {
    this.refresher.refresh(appId, { kind: 'expiring' }).catch(() => undefined);
  }

  private recordAudit(event: Parameters<AuditLog['record']>[0]): void {
    // never awaited: the audit log never delays or fails the operation it records
    void this.audit?.record(event);
  }

  /** WeChat's errmsg (it carries the rid) of a token call that failed during this operation. */
  private failureSince(appId: string, startedAt: number): string | undefined {
    const failure = this.refresher.failureOf(appId);
    return failure && failure.at >= startedAt ? failure.error.errmsg : undefined;
  }

  private count(appId: string, field: string): void {
    this.store.incrementCounter(appId, chinaDay(Date.now()), field).catch(() => undefined);
  }
}
