import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { chinaDay } from '../common/time';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import { throwIfBackingOff } from './backoff';
import { CredentialCoordinator } from './credential-coordinator';
import type { CredentialKind, FetchedCredential } from './credential-kind';
import { CredentialTerminalError } from './errors/credential-terminal.error';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { UpstreamTokenError } from './errors/upstream-token.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { TokenScheduler, type ScheduledRefresh } from './token-scheduler';

/** A credential as handed out by the hub (an access token, a ticket, a component or authorizer token). */
export interface AccessToken {
  /** The token to put in `?access_token=` (or the ticket to sign with). */
  readonly value: string;
  /** Grows by one each time the account's credential changes. */
  readonly version: number;
  /** When WeChat stops accepting it (measured conservatively from when the request left). */
  readonly expiresAt: Date;
}

/** A credential this instance holds in memory. */
export interface HeldCredential {
  readonly record: CredentialRecord;
  /** The frozen view handed to callers (the same object until the record changes). */
  readonly token: AccessToken;
  /** Trusted without asking the store until then. */
  checkedUntil: number;
}

/** The last failed upstream call of an account's credential and when the next one is allowed. */
export interface FailureState {
  attempt: number;
  at: number;
  /** Infinity after a terminal failure. */
  retryAt: number;
  error: UpstreamTokenError;
  /** The kind's terminal state (`needs-reauthorization`) when no retry can help. */
  terminal?: string;
}

/** Told of each new value, version or expiry held; `previous` is the record it replaced. */
export type HeldListener = (
  appId: string,
  held: HeldCredential,
  previous: CredentialRecord | undefined,
) => void;

/**
 * The one engine every credential kind runs on: an in-process copy per account (dropped when any instance
 * announces a change), single-flight per account, refreshes through the CredentialCoordinator (lease lock,
 * double check, version compare-and-set, the kind's extra persisted field in the same write), the schedule, failure
 * backoff and the kind's day counter. The kind (CredentialKind) only says how the credential is fetched and how it
 * rotates.
 *
 * `get` is the whole read path of a simple kind; a kind with more intents (the access token: invalid-token
 * reports, forced refreshes, renewal while the store is unreachable) builds them from `flight`, `fetch` and `save`.
 */
export class CredentialEngine {
  /** A value with less than this left is never handed out. */
  readonly minServeMs: number;
  /** A value with less than this left is refreshed. */
  readonly refreshAheadMs: number;
  /**
   * The in-process copies by account. Read-only outside the engine; exposed so that the hottest read
   * (TokenService.getAccessToken) is one map lookup with no call in between.
   */
  readonly copies = new Map<string, HeldCredential>();
  private readonly flights = new Map<string, Promise<unknown>>();
  private readonly failures = new Map<string, FailureState>();
  private readonly listeners = new Set<HeldListener>();
  private readonly staleListeners = new Set<(appId: string) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    readonly kind: CredentialKind,
    private readonly store: TokenStore,
    private readonly coordinator: CredentialCoordinator,
    private readonly scheduler: TokenScheduler,
    private readonly options: TokenPlaneOptions,
    private readonly logger: Logger,
    scheduledRefresh?: ScheduledRefresh,
  ) {
    this.minServeMs = Math.max(options.minServeMs, kind.minRemainingMs ?? 0);
    this.refreshAheadMs = options.refreshAheadMs + (kind.minRemainingMs ?? 0);
    const refresh = scheduledRefresh ?? ((appId, horizonMs) => this.refresh(appId, horizonMs));
    scheduler.register(kind.id, refresh, {
      minServeMs: this.minServeMs,
      refreshAheadMs: this.refreshAheadMs,
      rotation: (appId) => kind.rotation(appId),
      scope: kind.scope,
    });
    this.unsubscribe = store.onChange((change) => {
      if (change.kind !== kind.id) return;
      const held = this.copies.get(change.appId);
      if (!held || held.record.version > change.version) return;
      held.checkedUntil = 0;
      for (const listener of this.staleListeners) listener(change.appId);
    });
  }

  dispose(): void {
    this.unsubscribe();
  }

  /** The held copy while it is within its re-check interval: answered synchronously, no store command. */
  cached(appId: string): HeldCredential | undefined {
    const held = this.copies.get(appId);
    return held !== undefined && Date.now() < held.checkedUntil ? held : undefined;
  }

  /** The held copy, however old. */
  held(appId: string): HeldCredential | undefined {
    return this.copies.get(appId);
  }

  /** Keeps `record` as the account's copy and re-arms its re-check interval. */
  remember(appId: string, record: CredentialRecord): HeldCredential {
    // never trusted past the refresh-ahead point, so the slow path notices the window and kicks a refresh
    const checkedUntil = Math.min(
      Date.now() + this.options.l1TtlMs,
      record.expiresAt - Math.max(this.refreshAheadMs, this.minServeMs),
    );
    const existing = this.copies.get(appId);
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
    const held: HeldCredential = { record, token, checkedUntil };
    this.copies.set(appId, held);
    for (const listener of this.listeners) listener(appId, held, existing?.record);
    return held;
  }

  /** A newer record than the one held (or a later expiry of the same one) replaces it. */
  learn(appId: string, record: CredentialRecord): void {
    const held = this.copies.get(appId)?.record;
    if (
      held &&
      (held.version > record.version ||
        (held.version === record.version && held.expiresAt >= record.expiresAt))
    )
      return;
    this.remember(appId, record);
  }

  /** Drops everything held about a removed account. */
  forget(appId: string): void {
    this.copies.delete(appId);
    this.failures.delete(appId);
  }

  /** Calls `listener` with each new value, version or expiry held. Returns the unsubscribe. */
  onHeld(listener: HeldListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` when another instance (or this one) announced a newer record than the one held. */
  onStale(listener: (appId: string) => void): () => void {
    this.staleListeners.add(listener);
    return () => this.staleListeners.delete(listener);
  }

  usable(record: CredentialRecord | null, now = Date.now()): record is CredentialRecord {
    return this.coordinator.usable(record, now, this.minServeMs);
  }

  needsRefresh(record: CredentialRecord, now = Date.now(), horizonMs = this.refreshAheadMs): boolean {
    return this.coordinator.needsRefresh(record, now, horizonMs);
  }

  /**
   * The read path: the held copy within its re-check interval, else the store (the held copy when the store does
   * not answer and it is still usable), refreshed in the background when expiring and waited for when none is
   * usable. The credential is kept on the schedule from its first use.
   */
  async get(appId: string): Promise<HeldCredential> {
    const cached = this.cached(appId);
    if (cached) return cached;
    const held = this.copies.get(appId);
    let record: CredentialRecord | null;
    try {
      record = await this.coordinator.read(appId, this.kind.id);
    } catch (error) {
      if (held && this.usable(held.record)) return held;
      throw error;
    }
    if (this.usable(record)) {
      if (this.needsRefresh(record)) this.refresh(appId).catch(() => undefined);
    } else {
      record = await this.refresh(appId, Number.POSITIVE_INFINITY);
    }
    const fresh = this.remember(appId, record);
    this.scheduler.track(appId, this.kind.id, record);
    return fresh;
  }

  /**
   * Refreshes unless the stored value has more than `horizonMs` left (default: the refresh-ahead window;
   * infinity = only when none is usable). One per account at a time in this process.
   */
  refresh(appId: string, horizonMs = this.refreshAheadMs): Promise<CredentialRecord> {
    return this.flight(`${appId}|refresh`, () =>
      this.coordinator
        .coordinate<CredentialRecord>(appId, this.kind.id, {
          satisfied: (record) =>
            this.usable(record) &&
            (horizonMs === Number.POSITIVE_INFINITY || !this.needsRefresh(record, Date.now(), horizonMs))
              ? record
              : undefined,
          beforeLock: () => this.throwIfBackingOff(appId),
          work: async (current) => {
            const fetched = await this.fetch(appId, current, {
              reason: (message) => `no ${this.kind.label}: ${message}`,
            });
            const { record, changed } = await this.save(appId, current, fetched, 'schedule');
            if (changed)
              this.logger.log(
                `${this.kind.label} of ${appId} refreshed: version ${record.version}, ${fetched.expiresInSeconds} s`,
              );
            return record;
          },
        })
        .then((record) => {
          this.remember(appId, record);
          return record;
        }),
    );
  }

  /** Runs `run` once per `key` (`<appId>|<what>`) at a time in this process; concurrent callers share it. */
  flight<T>(key: string, run: () => Promise<T>): Promise<T> {
    let flight = this.flights.get(key) as Promise<T> | undefined;
    if (!flight) {
      flight = run().finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  /** A flight of the account is running in this process. */
  refreshing(appId: string): boolean {
    for (const key of this.flights.keys()) if (key.startsWith(`${appId}|`)) return true;
    return false;
  }

  failureOf(appId: string): FailureState | undefined {
    return this.failures.get(appId);
  }

  /** Drops the backoff of an account (its settings changed): the next refresh goes ahead at once. */
  forgetFailure(appId: string): void {
    this.failures.delete(appId);
  }

  /** Refuses at once while the account's backoff is pending. */
  throwIfBackingOff(appId: string): void {
    const failure = this.failures.get(appId);
    if (failure?.terminal)
      throw new CredentialTerminalError(
        appId,
        failure.error.message,
        failure.terminal,
        failure.error.errcode,
      );
    throwIfBackingOff(appId, failure);
  }

  /**
   * One upstream fetch through the kind. A failure is recorded (its backoff starts) and turned into
   * TokenUnavailableError (`reason` words it); a TokenUnavailableError of a credential the fetch needs passes
   * through unchanged.
   */
  async fetch(
    appId: string,
    current: CredentialRecord | null,
    options: { force?: boolean; reason?: (message: string) => string } = {},
  ): Promise<FetchedCredential> {
    const { dayCounter } = this.kind;
    try {
      const fetched = await this.kind.fetch({
        appId,
        current,
        force: options.force ?? false,
        countCall: () => {
          if (dayCounter)
            this.store.incrementCounter(appId, chinaDay(Date.now()), dayCounter).catch(() => undefined);
        },
      });
      this.failures.delete(appId);
      return fetched;
    } catch (error) {
      if (error instanceof TokenUnavailableError) throw error;
      const failure = this.recordFailure(appId, error, current);
      const message = options.reason ? options.reason(failure.error.message) : failure.error.message;
      if (failure.terminal)
        throw new CredentialTerminalError(appId, message, failure.terminal, failure.error.errcode);
      throw new TokenUnavailableError(appId, message, failure.error.errcode, failure.retryAt - Date.now());
    }
  }

  /**
   * Compare-and-set of a fetched value (and its refresh token) over `current`: an older fetch never overwrites a
   * newer record. Returns the record current afterwards and whether the value changed.
   */
  save(
    appId: string,
    current: CredentialRecord | null,
    fetched: FetchedCredential,
    source: string,
  ): Promise<{ record: CredentialRecord; changed: boolean }> {
    // a kind that keeps no refresh token never writes one, whatever its fetch returned
    const { refreshToken: _dropped, ...value } = fetched;
    return this.coordinator.save(
      appId,
      this.kind.id,
      current,
      this.kind.persistsRefreshToken ? fetched : value,
      {
        endpoint: this.kind.endpoint(appId),
        source,
        minServeMs: this.minServeMs,
        known: this.copies.get(appId)?.record,
      },
    );
  }

  private recordFailure(appId: string, error: unknown, current: CredentialRecord | null): FailureState {
    const upstream =
      error instanceof UpstreamTokenError
        ? error
        : new UpstreamTokenError('network', `unexpected failure of the ${this.kind.label} call`);
    const attempt = (this.failures.get(appId)?.attempt ?? 0) + 1;
    const now = Date.now();
    const terminal = this.kind.terminal?.(upstream);
    if (terminal) {
      const failure: FailureState = { attempt, at: now, retryAt: Infinity, error: upstream, terminal };
      this.failures.set(appId, failure);
      this.logger.error(
        `${this.kind.label} call for ${appId} failed: ${upstream.message}; ${terminal}, no further attempt`,
      );
      return failure;
    }
    const delay = this.kind.backoffMs(upstream, attempt, current);
    const failure: FailureState = { attempt, at: now, retryAt: now + delay, error: upstream };
    this.failures.set(appId, failure);
    const message = `${this.kind.label} call for ${appId} failed (attempt ${attempt}): ${upstream.message}; next attempt in ${Math.ceil(delay / 1000)} s`;
    if (this.kind.needsAttention(upstream))
      this.logger.error(`${message}. This needs a fix in the account settings or the WeChat console.`);
    else this.logger.warn(message);
    return failure;
  }
}

/** Builds the engine of each credential kind on the plane's shared store, coordinator and schedule. */
@Injectable()
export class CredentialEngines implements OnModuleDestroy {
  private readonly engines = new Map<string, CredentialEngine>();

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly coordinator: CredentialCoordinator,
    private readonly scheduler: TokenScheduler,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {}

  /**
   * The engine of `kind` (one per kind id). `logger` names the component its log lines come from;
   * `scheduledRefresh` replaces the engine's own refresh when the schedule fires (a kind with its own intents).
   */
  create(
    kind: CredentialKind,
    options: { logger?: Logger; scheduledRefresh?: ScheduledRefresh } = {},
  ): CredentialEngine {
    if (this.engines.has(kind.id)) throw new Error(`credential kind ${kind.id} is defined twice`);
    const engine = new CredentialEngine(
      kind,
      this.store,
      this.coordinator,
      this.scheduler,
      this.options,
      options.logger ?? new Logger(CredentialEngine.name),
      options.scheduledRefresh,
    );
    this.engines.set(kind.id, engine);
    return engine;
  }

  onModuleDestroy(): void {
    for (const engine of this.engines.values()) engine.dispose();
  }
}
