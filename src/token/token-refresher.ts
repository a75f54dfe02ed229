import { Injectable, Logger, Optional } from '@nestjs/common';
import type { AccountConfig } from '../accounts/account-config';
import { AccountRegistry } from '../accounts/account-registry';
import { backoffMs, chinaDay, msUntilNextChinaDay } from '../common/time';
import { MetricsService } from '../metrics/metrics.service';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import { AccountNotFoundError } from './errors/account-not-found.error';
import { ForceRefreshRefusedError } from './errors/force-refresh-refused.error';
import { throwIfBackingOff } from './backoff';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { UpstreamTokenError } from './errors/upstream-token.error';
import { CredentialCoordinator, nextRecord } from './credential-coordinator';
import { COUNTERS, InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { WechatTokenClient, type FetchedToken } from './wechat-token-client';

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

export interface FailureState {
  attempt: number;
  at: number;
  retryAt: number;
  error: UpstreamTokenError;
}

const LEGACY_QUOTA_WARNING = 1500;
/** A probe's "alive" verdict spares further probes of the same token for this long (the re-query still runs). */
const VERIFIED_LIVE_MS = 5_000;

/**
 * Fetches tokens from WeChat so that the whole fleet makes the fewest calls: single-flight in the process,
 * a lease lock across processes with a double check after taking it, compare-and-set writes, and backoff
 * after failures. Callers never see an upstream error directly: they get TokenUnavailableError.
 */
@Injectable()
export class TokenRefresher {
  private readonly logger = new Logger(TokenRefresher.name);
  private readonly inFlight = new Map<string, Promise<RefreshResult>>();
  private readonly failures = new Map<string, FailureState>();
  private readonly verifiedLive = new Map<string, { value: string; until: number }>();
  private readonly foreign = new Map<string, { count: number; lastAt: number }>();

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly client: WechatTokenClient,
    private readonly accounts: AccountRegistry,
    private readonly coordinator: CredentialCoordinator,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /** The token can still be handed out. */
  usable(record: CredentialRecord | null, now = Date.now()): record is CredentialRecord {
    return this.coordinator.usable(record, now);
  }

  needsRefresh(record: CredentialRecord, now = Date.now(), horizonMs = this.options.refreshAheadMs): boolean {
    return this.coordinator.needsRefresh(record, now, horizonMs);
  }

  failureOf(appId: string): FailureState | undefined {
    return this.failures.get(appId);
  }

  /** Drops the backoff of an account (its settings changed): the next refresh goes ahead at once. */
  forgetFailure(appId: string): void {
    this.failures.delete(appId);
  }

  foreignInvalidationsOf(appId: string): { count: number; lastAt: number } | undefined {
    return this.foreign.get(appId);
  }

  refreshing(appId: string): boolean {
    for (const key of this.inFlight.keys()) if (key.startsWith(`${appId}|`)) return true;
    return false;
  }

  /** Runs one refresh per account and intent at a time in this process; concurrent callers share it. */
  refresh(appId: string, intent: RefreshIntent): Promise<RefreshResult> {
    const account = this.accounts.get(appId);
    if (!account) return Promise.reject(new AccountNotFoundError(appId));
    const key = `${appId}|${intent.kind === 'invalid' ? `invalid:${intent.token}` : intent.kind === 'force' ? 'force' : 'refresh'}`;
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = this.run(account, intent).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
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
    if (account.tokenEndpoint !== 'stable') {
      return Promise.reject(
        new TokenUnavailableError(appId, 'a legacy token cannot be renewed without the store and its lock'),
      );
    }
    const key = `${appId}|without-store`;
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = this.fetchWithoutStore(account, current).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    return flight;
  }

  private async fetchWithoutStore(
    account: AccountConfig,
    current: CredentialRecord | null,
  ): Promise<RefreshResult> {
    const now = Date.now();
    if (this.usable(current, now) && !this.needsRefresh(current, now))
      return { record: current, outcome: 'fresh' };
    throwIfBackingOff(account.appId, this.failures.get(account.appId));
    const fetched = await this.fetchUpstream(account, current, false);
    const { record, same } = nextRecord(
      current,
      {
        value: fetched.accessToken,
        expiresInSeconds: fetched.expiresInSeconds,
        startedAt: fetched.startedAt,
      },
      { endpoint: account.tokenEndpoint, source: 'store-unreachable' },
    );
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
        if (intent.kind !== 'force') throwIfBackingOff(account.appId, this.failures.get(account.appId));
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
    if (fetched.accessToken !== token) {
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
  ): Promise<FetchedToken & { startedAt: number }> {
    const { appId } = account;
    const startedAt = Date.now();
    if (force) {
      this.count(appId, COUNTERS.forceCalls);
      this.metrics?.upstreamCall(appId, 'stable_token_force');
    } else if (account.tokenEndpoint === 'stable') {
      this.count(appId, COUNTERS.stableCalls);
      this.metrics?.upstreamCall(appId, 'stable_token');
    } else this.countLegacyCall(appId);
    try {
      const fetched = await this.client.fetchToken(account, force);
      this.failures.delete(appId);
      this.metrics?.refreshed(appId, 'refreshed');
      return { ...fetched, startedAt };
    } catch (error) {
      const failure = this.recordFailure(appId, error, current);
      throw new TokenUnavailableError(
        appId,
        failure.error.message,
        failure.error.errcode,
        failure.retryAt - Date.now(),
      );
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
    fetched: FetchedToken & { startedAt: number },
    source: string,
  ): Promise<CredentialRecord> {
    const { record, changed } = await this.coordinator.save(
      account.appId,
      'token',
      current,
      {
        value: fetched.accessToken,
        expiresInSeconds: fetched.expiresInSeconds,
        startedAt: fetched.startedAt,
      },
      { endpoint: account.tokenEndpoint, source },
    );
    if (changed) {
      this.logger.log(
        `token of ${account.appId} refreshed: version ${record.version}, ${fetched.expiresInSeconds} s, ${account.tokenEndpoint} endpoint, ${source}`,
      );
    }
    return record;
  }

  private recordFailure(appId: string, error: unknown, current: CredentialRecord | null): FailureState {
    const upstream =
      error instanceof UpstreamTokenError
        ? error
        : new UpstreamTokenError('network', 'unexpected failure of the token call');
    const previous = this.failures.get(appId);
    const attempt = (previous?.attempt ?? 0) + 1;
    const delay =
      upstream.kind === 'configuration'
        ? backoffMs(attempt - 1, 60_000, 30 * 60_000)
        : upstream.kind === 'quota'
          ? backoffMs(attempt - 1, 5 * 60_000, 60 * 60_000)
          : this.transientDelay(attempt, current);
    const now = Date.now();
    const failure: FailureState = { attempt, at: now, retryAt: now + delay, error: upstream };
    this.failures.set(appId, failure);
    this.metrics?.refreshed(appId, 'failed');
    this.metrics?.upstreamError(appId, upstream.errcode);
    const message = `token call for ${appId} failed (attempt ${attempt}): ${upstream.message}; next attempt in ${Math.ceil(delay / 1000)} s`;
    if (upstream.kind === 'configuration' || upstream.kind === 'quota') {
      this.logger.error(`${message}. This needs a fix in the account settings or the WeChat console.`);
    } else {
      this.logger.warn(message);
    }
    return failure;
  }

  /**
   * Capped exponential backoff, but never so long that the current token dies first: at most half of the
   * time it can still be served, so a short outage inside the refresh window costs callers nothing.
   */
  private transientDelay(attempt: number, current: CredentialRecord | null): number {
    const delay = backoffMs(attempt - 1, 1_000, 30_000);
    if (!current) return delay;
    const servable = current.expiresAt - this.options.minServeMs - Date.now();
    return servable > 0 ? Math.max(250, Math.min(delay, servable / 2)) : delay;
  }

  /** WeChat allows 2000 legacy token calls a day (45009 after): warn well before. */
  private countLegacyCall(appId: string): void {
    this.metrics?.upstreamCall(appId, 'token');
    this.store
      .incrementCounter(appId, chinaDay(Date.now()), COUNTERS.legacyCalls)
      .then((calls) => {
        if (calls >= LEGACY_QUOTA_WARNING && calls % 50 === 0) {
          this.logger.warn(
            `${appId} made ${calls} of its 2000 daily /cgi-bin/token calls: something is rotating tokens too often`,
          );
        }
      })
      .catch(() => undefined);
  }

  private count(appId: string, field: string): void {
    this.store.incrementCounter(appId, chinaDay(Date.now()), field).catch(() => undefined);
  }
}
