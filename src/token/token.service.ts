import { Injectable } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import type { AuditActor } from '../audit/audit-entry';
import { chinaDay } from '../common/time';
import type { TokenStore } from '../store/token-store';
import type { AccessToken, HeldCredential } from './credential-engine';
import { ForceBudget } from './force-budget';
import { COUNTERS, InjectTokenStore } from './token.constants';
import { TokenAudit } from './token-audit';
import { TokenOperatorView, type AccountTokenState, type TokenGauge } from './token-operator-view';
import { TokenReader, type TokenLearnedListener } from './token-reader';
import { TokenRefresher, type RefreshOutcome } from './token-refresher';
import { TokenScheduler } from './token-scheduler';

export type { AccessToken } from './credential-engine';
export type { AccountTokenState, TokenGauge } from './token-operator-view';
export type { TokenLearnedListener } from './token-reader';

/**
 * The token plane's public face: every caller in every process gets the one current access_token of an
 * account. Reads come from an in-process copy (a few seconds old at most, dropped at once when any instance
 * changes the token), then the shared store, and wait on a refresh only when no live token exists.
 *
 * The work is done by the token plane's parts: the read path (TokenReader), the refreshes and their intents
 * (TokenRefresher on the credential engine), the force budget (ForceBudget), what operators see
 * (TokenOperatorView) and the audit hooks (TokenAudit).
 */
@Injectable()
export class TokenService {
  private readonly copies: ReadonlyMap<string, HeldCredential>;

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly reader: TokenReader,
    private readonly refresher: TokenRefresher,
    private readonly view: TokenOperatorView,
    private readonly budget: ForceBudget,
    private readonly audit: TokenAudit,
    private readonly accounts: AccountRegistry,
    private readonly scheduler: TokenScheduler,
  ) {
    this.copies = refresher.engine.copies;
  }

  /** The current access_token of `appId`. Throws TokenUnavailableError when none can be had in time. */
  async getAccessToken(appId: string): Promise<string> {
    return (this.cachedToken(appId) ?? (await this.reader.getToken(appId))).value;
  }

  /** Like getAccessToken, with the version and expiry. */
  async getToken(appId: string): Promise<AccessToken> {
    return this.reader.getToken(appId);
  }

  /**
   * What getToken answers at once: the in-process copy while it is within its re-check interval (and no change
   * message has dropped it). `undefined` when getToken would have to ask the store or refresh, or for an unknown
   * account. For hot paths that answer synchronously and fall back to getToken.
   */
  cachedToken(appId: string): AccessToken | undefined {
    const held = this.copies.get(appId);
    return held !== undefined && Date.now() < held.checkedUntil ? held.token : undefined;
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
    this.reader.distrust(appId, token);
    const startedAt = Date.now();
    let result;
    try {
      result = await this.refresher.refresh(appId, { kind: 'invalid', token });
    } catch (error) {
      this.audit.failed('token.invalid_report', appId, actor, error, startedAt);
      throw error;
    }
    if (result.outcome === 'stale-report')
      this.store.incrementCounter(appId, chinaDay(Date.now()), COUNTERS.reportsStale).catch(() => undefined);
    this.audit.reported(appId, actor, result.outcome, result.record);
    return { token: this.reader.remember(appId, result.record).token, outcome: result.outcome };
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
      this.audit.failed('token.force_refresh', appId, actor, error, startedAt);
      throw error;
    }
    this.audit.forced(appId, actor, result.record);
    return this.reader.remember(appId, result.record).token;
  }

  /**
   * For health checks: whether an account holds a live token, is getting one, or is failing — from what this
   * instance holds (its copy of every account's token, kept current by the store's change notifications and the
   * scheduler), so a probe costs no store read per account.
   */
  async status(appId: string): Promise<AccountTokenState['status']> {
    return this.view.status(appId);
  }

  /**
   * The token gauges of every account from this instance's copies. The force budget is read from the store only
   * for accounts whose force counter may have changed since it was last read (a forced or reported token was
   * learned, this instance's refresh failed after a reservation, or a new China day began), so a scrape costs
   * store reads in proportion to refreshes, not to accounts.
   */
  async tokenGauges(): Promise<TokenGauge[]> {
    return this.view.tokenGauges();
  }

  /** Throws when the shared store cannot be reached. */
  async pingStore(): Promise<void> {
    await this.store.ping();
  }

  /** The last known live token without triggering a refresh. */
  async peek(appId: string): Promise<AccessToken | null> {
    return this.reader.peek(appId);
  }

  /** Every account's state for operators. */
  async describeAccounts(): Promise<AccountTokenState[]> {
    return this.view.describeAccounts();
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
    return this.reader.onTokenLearned(listener);
  }

  /** Drops the in-process copy of a removed account. */
  forget(appId: string): void {
    this.reader.forget(appId);
    this.budget.forget(appId);
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
}
