import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AccountRegistry } from '../accounts/account-registry';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { TokenRefresher } from './token-refresher';

const STORE_RETRY_MS = 2_000;
/** WeChat rotates a stable token only in its last 5 minutes: refreshing earlier just returns the same token. */
const STABLE_ROTATION_WINDOW_MS = 300_000;

/**
 * Proactive refresh: one timer per account, set from the stored record's own expiresAt minus the refresh-ahead
 * window minus jitter, so the instances of a fleet do not all fire at once and the first one to fire does the
 * work for everybody (the others find the fresh token on their double check). Any instance's change
 * re-plans the timers everywhere.
 */
@Injectable()
export class TokenScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokenScheduler.name);
  private readonly planned = new Map<string, { at: number; version: number | null; horizonMs: number }>();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly schedulerRegistry: SchedulerRegistry,
    private readonly refresher: TokenRefresher,
    private readonly accounts: AccountRegistry,
    @InjectTokenStore() private readonly store: TokenStore,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.store.onChange((change) => {
      if (this.planned.get(change.appId)?.version !== change.version) void this.planFromStore(change.appId);
    });
    for (const account of this.accounts.list()) void this.planFromStore(account.appId);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const appId of this.planned.keys()) this.clear(appId);
  }

  /** When the next proactive refresh of an account is due. */
  nextRefreshAt(appId: string): number | undefined {
    return this.planned.get(appId)?.at;
  }

  /** Starts planning a newly added account. */
  track(appId: string): void {
    void this.planFromStore(appId);
  }

  /** Stops planning a removed account. */
  untrack(appId: string): void {
    this.clear(appId);
    this.planned.delete(appId);
  }

  private async planFromStore(appId: string): Promise<void> {
    let record: CredentialRecord | null;
    try {
      record = await this.store.get(appId, 'token');
    } catch (error) {
      this.logger.warn(`cannot read the token of ${appId} to plan its refresh (${(error as Error).message})`);
      this.schedule(appId, Date.now() + STORE_RETRY_MS, null, this.options.refreshAheadMs);
      return;
    }
    this.plan(appId, record);
  }

  private plan(appId: string, record: CredentialRecord | null): void {
    const now = Date.now();
    const version = record ? record.version : null;
    const ahead = this.options.refreshAheadMs;
    if (!this.refresher.usable(record, now)) {
      this.schedule(appId, now, version, ahead);
      return;
    }
    let maxJitter = Math.min(30_000, ahead / 4);
    if (record.endpoint === 'stable')
      maxJitter = Math.min(maxJitter, Math.max(0, STABLE_ROTATION_WINDOW_MS - 10_000 - ahead));
    const horizonMs = ahead + Math.random() * maxJitter;
    // not sooner than a quarter of the window from now, so a token WeChat did not rotate yet causes no hot loop
    const at = Math.max(record.expiresAt - horizonMs, now + Math.min(10_000, ahead / 4));
    this.schedule(appId, at, record.version, horizonMs);
  }

  private schedule(appId: string, at: number, version: number | null, horizonMs: number): void {
    if (this.stopped || !this.accounts.get(appId)) return;
    this.clear(appId);
    this.planned.set(appId, { at, version, horizonMs });
    const timer = setTimeout(() => void this.fire(appId), Math.max(0, at - Date.now()));
    this.schedulerRegistry.addTimeout(this.timerName(appId), timer);
  }

  private async fire(appId: string): Promise<void> {
    this.schedulerRegistry.deleteTimeout(this.timerName(appId));
    // a little slack: the timer may fire a few ms late, never early
    const horizonMs = (this.planned.get(appId)?.horizonMs ?? this.options.refreshAheadMs) + 250;
    try {
      const result = await this.refresher.refresh(appId, { kind: 'expiring', horizonMs });
      this.plan(appId, result.record);
    } catch (error) {
      const retryAfter =
        error instanceof TokenUnavailableError && error.retryAfterMs ? error.retryAfterMs : STORE_RETRY_MS;
      this.schedule(appId, Date.now() + Math.max(retryAfter, 250), null, this.options.refreshAheadMs);
    }
  }

  private clear(appId: string): void {
    const name = this.timerName(appId);
    if (this.schedulerRegistry.doesExist('timeout', name)) this.schedulerRegistry.deleteTimeout(name);
  }

  private timerName(appId: string): string {
    return `wxhub:token-refresh:${appId}`;
  }
}
