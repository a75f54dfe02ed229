import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AccountRegistry } from '../accounts/account-registry';
import type { CredentialKindId, CredentialRecord, TokenStore } from '../store/token-store';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { CredentialTerminalError } from './errors/credential-terminal.error';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import type { CredentialScope, Rotation } from './credential-kind';

const STORE_RETRY_MS = 2_000;
/** WeChat rotates a stable token only in its last 5 minutes: refreshing earlier just returns the same token. */
const STABLE_ROTATION_WINDOW_MS = 300_000;

/** Refreshes one credential of an account if it has less than `horizonMs` left; resolves to the current record. */
export type ScheduledRefresh = (appId: string, horizonMs: number) => Promise<CredentialRecord>;

/** When a kind is refreshed: its own windows and how it rotates, and for which IDs. */
export interface ScheduleTiming {
  /** Refresh when less than this is left. */
  refreshAheadMs: number;
  /** A record with less than this left is refreshed at once. */
  minServeMs: number;
  rotation(appId: string): Rotation;
  /** The IDs the kind refreshes (CredentialKind.scope); default: the registry's accounts, none planned at boot. */
  scope?: CredentialScope;
}

/** Told of every record the scheduler plans from (read from the store or returned by a refresh). */
export type PlannedRecordListener = (appId: string, kind: CredentialKindId, record: CredentialRecord) => void;

interface Plan {
  appId: string;
  kind: CredentialKindId;
  at: number;
  version: number | null;
  horizonMs: number;
}

/**
 * Proactive refresh: one timer per account and credential, set from the stored record's own expiresAt minus the
 * refresh-ahead window minus jitter, so the instances of a fleet do not all fire at once and the first one to fire
 * does the work for everybody (the others find the fresh value on their double check). Any instance's change
 * re-plans the timers everywhere. Access tokens are planned for every account from boot, so are the IDs a kind
 * declares (CredentialKind.scope: a component's authorizers); other credentials (JS-SDK tickets) from their first
 * use.
 *
 * Due refreshes run through a limiter (`refreshConcurrency` at once): at a cold start every account without a
 * token is due at once, and thousands of simultaneous upstream calls and locks would only make WeChat, Redis and
 * the event loop slower for everybody. A caller that needs a token now does not queue here: it refreshes directly
 * (TokenService → TokenRefresher, single-flight per account), and the queued scheduled refresh of that account
 * then finds the fresh token on its double check, or is dropped when a re-plan replaced it meanwhile. Each
 * instance plans its boot in its own random order, so the instances of a fleet work on different accounts.
 */
@Injectable()
export class TokenScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokenScheduler.name);
  private readonly planned = new Map<string, Plan>();
  private readonly refreshers = new Map<
    CredentialKindId,
    { refresh: ScheduledRefresh; timing: ScheduleTiming }
  >();
  private readonly recordListeners = new Set<PlannedRecordListener>();
  private readonly limiter: ConcurrencyLimiter;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly schedulerRegistry: SchedulerRegistry,
    private readonly accounts: AccountRegistry,
    @InjectTokenStore() private readonly store: TokenStore,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {
    this.limiter = new ConcurrencyLimiter(options.refreshConcurrency);
  }

  /**
   * Makes `kind` schedulable; `refresh` is called when a planned refresh is due. Without `timing` the kind uses
   * the plane's windows and rotates.
   */
  register(kind: CredentialKindId, refresh: ScheduledRefresh, timing?: ScheduleTiming): void {
    this.refreshers.set(kind, {
      refresh,
      timing: timing ?? {
        refreshAheadMs: this.options.refreshAheadMs,
        minServeMs: this.options.minServeMs,
        rotation: () => 'rotating',
      },
    });
  }

  private timing(kind: CredentialKindId): ScheduleTiming {
    return (
      this.refreshers.get(kind)?.timing ?? {
        refreshAheadMs: this.options.refreshAheadMs,
        minServeMs: this.options.minServeMs,
        rotation: () => 'rotating',
      }
    );
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.store.onChange((change) => {
      const plan = this.planned.get(this.key(change.appId, change.kind));
      if (plan && plan.version !== change.version) void this.planFromStore(change.appId, change.kind);
    });
    const boot: { appId: string; kind: CredentialKindId }[] = this.accounts
      .list()
      .map((account) => ({ appId: account.appId, kind: 'token' }));
    for (const [kind, { timing }] of this.refreshers) {
      for (const appId of timing.scope?.atBoot() ?? []) boot.push({ appId, kind });
    }
    for (const { appId, kind } of shuffled(boot)) void this.planFromStore(appId, kind);
  }

  /** Whether the credential is still one to refresh: its kind's ID, or an account of the registry. */
  private owns(appId: string, kind: CredentialKindId): boolean {
    const scope = this.refreshers.get(kind)?.timing.scope;
    return scope ? scope.owns(appId) : this.accounts.get(appId) !== undefined;
  }

  /** Calls `listener` with every record a plan is made from; returns the function that unsubscribes. */
  onPlannedRecord(listener: PlannedRecordListener): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  /** Scheduled refreshes running now / waiting for a slot, and the most that ever ran at once. */
  get refreshQueue(): { active: number; queued: number; maxActive: number; limit: number } {
    const { active, queued, maxActive, limit } = this.limiter;
    return { active, queued, maxActive, limit };
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const key of this.planned.keys()) this.clear(key);
  }

  /** When the next proactive refresh of an account's credential is due. */
  nextRefreshAt(appId: string, kind: CredentialKindId = 'token'): number | undefined {
    return this.planned.get(this.key(appId, kind))?.at;
  }

  /** A refresh of the credential is due (its timer fired or is about to) and waits for a slot or runs. */
  refreshDue(appId: string, kind: CredentialKindId = 'token'): boolean {
    const plan = this.planned.get(this.key(appId, kind));
    return plan !== undefined && plan.at <= Date.now();
  }

  /** Keeps a credential of an account refreshed from now on (no-op when it already is). */
  track(appId: string, kind: CredentialKindId = 'token', record?: CredentialRecord): void {
    if (this.planned.has(this.key(appId, kind))) return;
    if (record) this.plan(appId, kind, record);
    else void this.planFromStore(appId, kind);
  }

  /** Stops planning every credential of a removed account. */
  untrack(appId: string): void {
    for (const [key, plan] of this.planned) {
      if (plan.appId !== appId) continue;
      this.clear(key);
      this.planned.delete(key);
    }
  }

  private async planFromStore(appId: string, kind: CredentialKindId): Promise<void> {
    let record: CredentialRecord | null;
    try {
      record = await this.store.get(appId, kind);
    } catch (error) {
      this.logger.warn(
        `cannot read the ${kind} of ${appId} to plan its refresh (${(error as Error).message})`,
      );
      this.schedule(appId, kind, Date.now() + STORE_RETRY_MS, null, this.timing(kind).refreshAheadMs);
      return;
    }
    this.plan(appId, kind, record);
  }

  private plan(appId: string, kind: CredentialKindId, record: CredentialRecord | null): void {
    const now = Date.now();
    const version = record ? record.version : null;
    const timing = this.timing(kind);
    const ahead = timing.refreshAheadMs;
    if (record && this.owns(appId, kind))
      for (const listener of this.recordListeners) listener(appId, kind, record);
    if (!record || record.expiresAt - now <= timing.minServeMs) {
      this.schedule(appId, kind, now, version, ahead);
      return;
    }
    let maxJitter = Math.min(30_000, ahead / 4);
    if (timing.rotation(appId) === 'stable' && record.endpoint === 'stable') {
      maxJitter = Math.min(maxJitter, Math.max(0, STABLE_ROTATION_WINDOW_MS - 10_000 - ahead));
    }
    const horizonMs = ahead + Math.random() * maxJitter;
    // not sooner than a quarter of the window from now, so a value WeChat did not rotate yet causes no hot loop
    const at = Math.max(record.expiresAt - horizonMs, now + Math.min(10_000, ahead / 4));
    this.schedule(appId, kind, at, record.version, horizonMs);
  }

  private schedule(
    appId: string,
    kind: CredentialKindId,
    at: number,
    version: number | null,
    horizonMs: number,
  ): void {
    if (this.stopped || !this.owns(appId, kind)) return;
    const key = this.key(appId, kind);
    this.clear(key);
    this.planned.set(key, { appId, kind, at, version, horizonMs });
    const timer = setTimeout(() => void this.fire(key), Math.max(0, at - Date.now()));
    this.schedulerRegistry.addTimeout(this.timerName(key), timer);
  }

  private async fire(key: string): Promise<void> {
    this.schedulerRegistry.deleteTimeout(this.timerName(key));
    const plan = this.planned.get(key);
    const refresh = plan && this.refreshers.get(plan.kind)?.refresh;
    if (!plan || !refresh) return;
    try {
      const record = await this.limiter.run(async () =>
        // re-planned (another instance or a caller refreshed it) or untracked while waiting: nothing left to do
        this.planned.get(key) === plan
          ? // a little slack: the timer may fire a few ms late, never early
            refresh(plan.appId, plan.horizonMs + 250)
          : undefined,
      );
      if (record) this.plan(plan.appId, plan.kind, record);
    } catch (error) {
      if (this.planned.get(key) !== plan) return;
      // a terminal failure (needs re-authorization): no retry until the credential is tracked again
      if (error instanceof CredentialTerminalError) {
        this.planned.delete(key);
        return;
      }
      const retryAfter =
        error instanceof TokenUnavailableError && error.retryAfterMs ? error.retryAfterMs : STORE_RETRY_MS;
      this.schedule(
        plan.appId,
        plan.kind,
        Date.now() + Math.max(retryAfter, 250),
        null,
        this.timing(plan.kind).refreshAheadMs,
      );
    }
  }

  private clear(key: string): void {
    const name = this.timerName(key);
    if (this.schedulerRegistry.doesExist('timeout', name)) this.schedulerRegistry.deleteTimeout(name);
  }

  private key(appId: string, kind: CredentialKindId): string {
    return `${appId}:${kind}`;
  }

  private timerName(key: string): string {
    return `wxhub:refresh:${key}`;
  }
}

/** A copy of `items` in random order (Fisher–Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const swap = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = swap;
  }
  return copy;
}
