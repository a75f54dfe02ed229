import { Injectable, Logger, Optional } from '@nestjs/common';
import type { AccountConfig } from '../accounts/account-config';
import { AccountRegistry } from '../accounts/account-registry';
import { chinaDay, msUntilNextChinaDay } from '../common/time';
import { MetricsService } from '../metrics/metrics.service';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import { accessTokenKind } from './access-token.kind';
import { CredentialCoordinator, nextRecord } from './credential-coordinator';
import { CredentialEngines, type CredentialEngine, type FailureState } from './credential-engine';
import type { FetchedCredential } from './credential-kind';
import { AccountNotFoundError } from './errors/account-not-found.error';
import { ForceRefreshRefusedError } from './errors/force-refresh-refused.error';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { COUNTERS, InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { WechatTokenClient } from './wechat-token-client';

export type { FailureState } from './credential-engine';

/** What a refresh is for; it decides when the work is already done by someone else. */
export type RefreshIntent =
  | { kind: 'missing' } // a caller has no live token
  | { kind: 'expiring'; horizonMs?: number } // the schedule: the token has less than horizonMs (default: refresh-ahead) left
  | { kind: 'invalid'; token: string } // a caller saw 40001/40014/42001 with this token
  | { kind: 'force' }; // an operator asked for a new token

export type RefreshOutcome = 'fresh' | 'refreshed' | 'stale-report' | 'false-report' | 'forced';

export interface RefreshResult {
  record: CredentialRecord;
  outcome: RefreshOutcome;
}

/** A probe's "alive" verdict spares further probes of the same token for this long (the re-query still runs). */
const VERIFIED_LIVE_MS = 5_000;

/**
 * The access-token kind's intents on the credential engine: refreshes so that the whole fleet makes the fewest
 * calls (single-flight in the process, a lease lock across processes with a double check after taking it,
 * compare-and-set writes, backoff after failures), plus what only the access token has — invalid-token reports
 * (compare-and-refresh, probes, foreign-invalidation detection), operators' forced refreshes against the daily
 * budget, and renewal of a stable token while the store is unreachable. Callers never see an upstream error
 * directly: they get TokenUnavailableError.
 */
@Injectable()
export class TokenRefresher {
  private readonly logger = new Logger(TokenRefresher.name);
  /** The access token's engine: its in-process copy, flights and backoff are the read path's too. */
  readonly engine: CredentialEngine;
  private readonly verifiedLive = new Map<string, { value: string; until: number }>();
  private readonly foreign = new Map<string, { count: number; lastAt: number }>();

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly client: WechatTokenClient,
    private readonly accounts: AccountRegistry,
    private readonly coordinator: CredentialCoordinator,
    engines: CredentialEngines,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    const kind = accessTokenKind({
      client,
      accounts,
      store,
      options,
      metrics,
      warn: (message) => this.logger.warn(message),
    });
    this.engine = engines.create(kind, {
      logger: this.logger,
      scheduledRefresh: async (appId, horizonMs) =>
        (await this.refresh(appId, { kind: 'expiring', horizonMs })).record,
    });
  }

  /** The token can still be handed out. */
  usable(record: CredentialRecord | null, now = Date.now()): record is CredentialRecord {
    return this.engine.usable(record, now);
  }

  needsRefresh(record: CredentialRecord, now = Date.now(), horizonMs = this.options.refreshAheadMs): boolean {
    return this.engine.needsRefresh(record, now, horizonMs);
  }

  failureOf(appId: string): FailureState | undefined {
    return this.engine.failureOf(appId);
  }

  /** Drops the backoff of an account (its settings changed): the next refresh goes ahead at once. */
  forgetFailure(appId: string): void {
    this.engine.forgetFailure(appId);
  }

  foreignInvalidationsOf(appId: string): { count: number; lastAt: number } | undefined {
    return this.foreign.get(appId);
  }

  refreshing(appId: string): boolean {
    return this.engine.refreshing(appId);
  }

  /** Runs one refresh per account and intent at a time in this process; concurrent callers share it. */
  refresh(appId: string, intent: RefreshIntent): Promise<RefreshResult> {
    const account = this.accounts.get(appId);
    if (!account) return Promise.reject(new AccountNotFoundError(appId));
    const key = `${appId}|${intent.kind === 'invalid' ? `invalid:${intent.token}` : intent.kind === 'force' ? 'force' : 'refresh'}`;
    const flight = this.engine.flight(key, () => this.run(account, intent));
    if (intent.kind === 'invalid' && this.metrics) {
      const metrics = this.metrics;
      // every report counts, also those that share another report's flight
      return flight.then((result) => {
        if (result.outcome !== 'fresh') metrics.invalidReport(appId, result.outcome);
        return result;
      });
    }
    return flight;
  }

  /**
   * Renews a stable token while the store cannot be reached (TokenService asks when its copy is expiring or gone
   * and the store does not answer). No lock can be taken, and none is needed: in normal mode WeChat hands every
   * caller the same stable token and renews it only in its last 5 minutes, so instances asking on their own
   * neither knock each other's tokens out nor spend more than a call each (10,000 a minute are allowed). A legacy
   * token cannot be renewed this way (each call kills the previous token), nor can a forced one (its budget lives
   * in the store). The record takes the next version (the same one for the same value); TokenService writes it
   * back once the store answers again. One call per account at a time in this process, with the usual backoff.
   */
  refreshWithoutStore(appId: string, current: CredentialRecord | null): Promise<RefreshResult> {
    const account = this.accounts.get(appId);
    if (!account) return Promise.reject(new AccountNotFoundError(appId));
    if (this.engine.kind.rotation(appId) !== 'stable') {
      return Promise.reject(
        new TokenUnavailableError(appId, 'a legacy token cannot be renewed without the store and its lock'),
      );
    }
    return this.engine.flight(`${appId}|without-store`, () => this.fetchWithoutStore(account, current));
  }

  private async fetchWithoutStore(
    account: AccountConfig,
    current: CredentialRecord | null,
  ): Promise<RefreshResult> {
    const now = Date.now();
    if (this.usable(current, now) && !this.needsRefresh(current, now))
      return { record: current, outcome: 'fresh' };
    this.engine.throwIfBackingOff(account.appId);
    const fetched = await this.fetchUpstream(account, current, false);
    const { record, same } = nextRecord(current, fetched, {
      endpoint: account.tokenEndpoint,
      source: 'store-unreachable',
    });
    if (!same) {
      this.logger.warn(
        `token of ${account.appId} renewed without the store (unreachable): version ${record.version}, ${fetched.expiresInSeconds} s; it is written to the store when the store answers again`,
      );
    }
    return { record, outcome: 'refreshed' };
  }

  private run(account: AccountConfig, intent: RefreshIntent): Promise<RefreshResult> {
    return this.coordinator.coordinate(account.appId, 'token', {
      satisfied: (record) => this.satisfied(intent, record),
      beforeLock: () => {
        if (intent.kind !== 'force') this.engine.throwIfBackingOff(account.appId);
      },
      work: (current) => this.underLock(account, intent, current),
    });
  }

  /** The double check: returns a result when the store already holds what this intent wants. */
  private satisfied(intent: RefreshIntent, record: CredentialRecord | null): RefreshResult | undefined {
    const now = Date.now();
    switch (intent.kind) {
      case 'missing':
        return this.usable(record, now) ? { record, outcome: 'fresh' } : undefined;
      case 'expiring':
        return this.usable(record, now) && !this.needsRefresh(record, now, intent.horizonMs)
          ? { record, outcome: 'fresh' }
          : undefined;
      case 'invalid':
        return this.usable(record, now) && record.value !== intent.token
          ? { record, outcome: 'stale-report' }
          : undefined;
      case 'force':
        return undefined;
    }
  }

  private async underLock(
    account: AccountConfig,
    intent: RefreshIntent,
    current: CredentialRecord | null,
  ): Promise<RefreshResult> {
    switch (intent.kind) {
      case 'missing':
      case 'expiring':
        return {
          record: await this.fetchAndStore(account, current, false, intent.kind),
          outcome: 'refreshed',
        };
      case 'force':
        await this.reserveForce(account.appId);
        return {
          record: await this.fetchAndStore(account, current, account.tokenEndpoint === 'stable', 'operator'),
          outcome: 'forced',
        };
      case 'invalid':
        return this.compareAndRefresh(account, intent.token, current);
    }
  }

  /**
   * The reported token is still the current one. Legacy: probe first (a legacy call rotates and spends quota).
   * Stable: re-query in normal mode; only when WeChat hands back the very token reported bad, probe it, and
   * force a refresh only if the probe proves it dead.
   */
  private async compareAndRefresh(
    account: AccountConfig,
    token: string,
    current: CredentialRecord | null,
  ): Promise<RefreshResult> {
    const { appId } = account;
    if (account.tokenEndpoint === 'legacy') {
      const probe = await this.probe(appId, token);
      if (probe === 'alive' && current) return this.falseReport(appId, current);
      if (probe === 'dead') this.noteDeath(appId, current, 'it died before its own expiry');
      return {
        record: await this.fetchAndStore(account, current, false, 'invalid-report'),
        outcome: 'refreshed',
      };
    }
    const fetched = await this.fetchUpstream(account, current, false);
    if (fetched.value !== token) {
      this.noteDeath(appId, current, 'WeChat issued a new stable token early, so someone force-refreshed it');
      return { record: await this.save(account, current, fetched, 'invalid-report'), outcome: 'refreshed' };
    }
    // a token a probe found alive moments ago is not probed again (a storm of false reports costs one probe)
    const verified = this.verifiedLive.get(token);
    const probe = verified && verified.until > Date.now() ? 'alive' : await this.probe(appId, token);
    if (probe !== 'dead') {
      if (probe === 'unknown')
        this.logger.warn(`could not verify the reported token of ${appId}; keeping it`);
      const record = await this.save(account, current, fetched, 'invalid-report');
      return this.falseReport(appId, record, probe === 'alive');
    }
    this.logger.warn(`WeChat hands back a dead stable token of ${appId} in normal mode; forcing a refresh`);
    try {
      await this.reserveForce(appId);
    } catch (error) {
      if (error instanceof ForceRefreshRefusedError) {
        throw new TokenUnavailableError(
          appId,
          `the token is dead and ${error.message}`,
          undefined,
          error.retryAfterMs || undefined,
        );
      }
      throw error;
    }
    return { record: await this.fetchAndStore(account, current, true, 'invalid-report'), outcome: 'forced' };
  }

  private falseReport(appId: string, record: CredentialRecord, verified = true): RefreshResult {
    if (verified)
      this.verifiedLive.set(record.value, { value: record.value, until: Date.now() + VERIFIED_LIVE_MS });
    this.count(appId, COUNTERS.reportsFalse);
    this.logger.log(`a report that the token of ${appId} is invalid was false: WeChat still accepts it`);
    return { record, outcome: 'false-report' };
  }

  /** A token we still held as current is dead: if it was young, someone outside the hub killed it. */
  private noteDeath(appId: string, current: CredentialRecord | null, how: string): void {
    this.count(appId, COUNTERS.reportsAccepted);
    if (!current) return;
    const now = Date.now();
    const young = now - current.fetchedAt < (current.expiresAt - current.fetchedAt) / 2;
    if (!young) return;
    const previous = this.foreign.get(appId);
    this.foreign.set(appId, { count: (previous?.count ?? 0) + 1, lastAt: now });
    this.count(appId, COUNTERS.foreignInvalidations);
    this.metrics?.foreignInvalidation(appId);
    this.logger.warn(
      `foreign invalidation of ${appId}: token version ${current.version} was ${Math.round((now - current.fetchedAt) / 1000)} s old and ${how}. ` +
        'Another environment, a stray SDK or the console is fetching tokens for this AppID: make wxhub the only one.',
    );
  }

  private async reserveForce(appId: string): Promise<void> {
    const now = Date.now();
    const reservation = await this.store.reserveForce(
      appId,
      chinaDay(now),
      now,
      this.options.forceDailyBudget,
      this.options.forceMinIntervalMs,
    );
    if (!reservation.granted) {
      this.logger.warn(
        `force refresh of ${appId} refused: ${reservation.reason} (${reservation.used} used today)`,
      );
      const retryAfterMs =
        reservation.reason === 'budget' ? msUntilNextChinaDay(now) : reservation.retryAfterMs;
      throw new ForceRefreshRefusedError(
        appId,
        reservation.reason,
        retryAfterMs,
        this.options.forceMinIntervalMs,
      );
    }
  }

  private async probe(appId: string, token: string): Promise<'alive' | 'dead' | 'unknown'> {
    this.count(appId, COUNTERS.probes);
    this.metrics?.upstreamCall(appId, 'probe');
    return this.client.probe(token);
  }

  private async fetchUpstream(
    account: AccountConfig,
    current: CredentialRecord | null,
    force: boolean,
  ): Promise<FetchedCredential> {
    const { appId } = account;
    try {
      const fetched = await this.engine.fetch(appId, current, { force });
      this.metrics?.refreshed(appId, 'refreshed');
      return fetched;
    } catch (error) {
      // every failure of this kind's fetch is an upstream one (it needs no other credential)
      const failure = this.engine.failureOf(appId);
      if (failure) {
        this.metrics?.refreshed(appId, 'failed');
        this.metrics?.upstreamError(appId, failure.error.errcode);
      }
      throw error;
    }
  }

  private async fetchAndStore(
    account: AccountConfig,
    current: CredentialRecord | null,
    force: boolean,
    source: string,
  ): Promise<CredentialRecord> {
    return this.save(account, current, await this.fetchUpstream(account, current, force), source);
  }

  private async save(
    account: AccountConfig,
    current: CredentialRecord | null,
    fetched: FetchedCredential,
    source: string,
  ): Promise<CredentialRecord> {
    const { record, changed } = await this.engine.save(account.appId, current, fetched, source);
    if (changed) {
      this.logger.log(
        `token of ${account.appId} refreshed: version ${record.version}, ${fetched.expiresInSeconds} s, ${account.tokenEndpoint} endpoint, ${source}`,
      );
    }
    return record;
  }

  private count(appId: string, field: string): void {
    this.store.incrementCounter(appId, chinaDay(Date.now()), field).catch(() => undefined);
  }
}
