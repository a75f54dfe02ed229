import { accountKind } from '../accounts/account-config';
import { Injectable } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import { chinaDay } from '../common/time';
import { FORCE_COUNTER, type TokenStore } from '../store/token-store';
import { ForceBudget } from './force-budget';
import { COUNTERS, InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { TokenReader } from './token-reader';
import { TokenRefresher } from './token-refresher';
import { TokenScheduler } from './token-scheduler';

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

/** What operators see of the access tokens: health status, gauges and every account's state. */
@Injectable()
export class TokenOperatorView {
  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly reader: TokenReader,
    private readonly refresher: TokenRefresher,
    private readonly budget: ForceBudget,
    private readonly accounts: AccountRegistry,
    private readonly scheduler: TokenScheduler,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {}

  /** From what this instance holds: no store read. */
  status(appId: string, now = Date.now()): AccountTokenState['status'] {
    if (this.refresher.usable(this.reader.heldRecord(appId) ?? null, now)) return 'live';
    // a scheduled refresh waiting for its turn is getting a token as much as one running
    if (this.refresher.refreshing(appId) || this.scheduler.refreshDue(appId)) return 'refreshing';
    return this.refresher.failureOf(appId) ? 'failing' : 'missing';
  }

  async tokenGauges(): Promise<TokenGauge[]> {
    const accounts = this.accounts.list();
    const used = await this.budget.usedToday(
      accounts.map((a) => a.appId),
      chinaDay(Date.now()),
    );
    const now = Date.now();
    return accounts.map(({ appId }) => {
      const record = this.reader.heldRecord(appId);
      return {
        appId,
        expiresIn: record ? Math.max(0, Math.floor((record.expiresAt - now) / 1000)) : null,
        forceRefreshBudgetLeft: Math.max(0, this.options.forceDailyBudget - (used.get(appId) ?? 0)),
      };
    });
  }

  async describeAccounts(): Promise<AccountTokenState[]> {
    const day = chinaDay(Date.now());
    return Promise.all(
      this.accounts.list().map(async (account): Promise<AccountTokenState> => {
        const [record, counters] = await Promise.all([
          this.reader.readShared(account.appId).catch(() => this.reader.heldRecord(account.appId) ?? null),
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
}
