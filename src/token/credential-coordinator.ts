import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import type { TokenEndpoint } from '../accounts/account-config';
import type { CredentialKindId, CredentialRecord, TokenStore } from '../store/token-store';
import type { FetchedCredential } from './credential-kind';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';

const POLL_MS = 500;
const SHUTTING_DOWN = 'this instance is shutting down';

/** One coordinated refresh: what counts as done already, and the work to do under the lock otherwise. */
export interface CoordinatedStep<T> {
  /** The double check: a result when the store already holds what is wanted. */
  satisfied(record: CredentialRecord | null): T | undefined;
  /** Runs before taking the lock (e.g. refuse while backing off). */
  beforeLock?(): void;
  work(current: CredentialRecord | null): Promise<T>;
}

interface HeldLock {
  appId: string;
  kind: CredentialKindId;
  owner: string;
}

/**
 * The record that follows `current` once `fetched` arrived: the next version for a new value (or a new refresh
 * token); for the same value the same version and fetch time, only the expiry updated. A fetch that returns no
 * refresh token keeps the stored one.
 */
export function nextRecord(
  current: CredentialRecord | null,
  fetched: FetchedCredential,
  meta: { endpoint: TokenEndpoint; source: string },
): { record: CredentialRecord; same: boolean } {
  const refreshToken = fetched.refreshToken ?? current?.refreshToken;
  const same = current?.value === fetched.value && current.refreshToken === refreshToken;
  return {
    same,
    record: {
      value: fetched.value,
      version: same && current ? current.version : (current?.version ?? 0) + 1,
      fetchedAt: same && current ? current.fetchedAt : fetched.startedAt,
      expiresAt: fetched.startedAt + fetched.expiresInSeconds * 1000,
      endpoint: meta.endpoint,
      source: meta.source,
      ...(refreshToken === undefined ? {} : { refreshToken }),
    },
  };
}

/**
 * The fleet-wide single-writer protocol shared by every credential (access token, JS-SDK tickets): read, double
 * check, a lease lock kept alive while the work runs, a second double check after taking it, and compare-and-set
 * writes; whoever does not get the lock is woken by the store's change notification (polling only as a fallback)
 * and gives up after the bounded wait.
 *
 * On shutdown it releases every lock it holds at once (the fleet need not wait out the lease), abandons the work
 * still running under them, and takes no new lock.
 */
@Injectable()
export class CredentialCoordinator implements OnModuleDestroy {
  private readonly logger = new Logger(CredentialCoordinator.name);
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;
  private readonly held = new Set<HeldLock>();
  private stopping = false;
  private abandonHeld: () => void = () => undefined;
  private readonly abandoned = new Promise<never>((_resolve, reject) => {
    this.abandonHeld = () => reject(new Error(SHUTTING_DOWN));
  });

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.unsubscribe = store.onChange((change) => this.wake(`${change.appId}:${change.kind}`));
    this.abandoned.catch(() => undefined);
  }

  // NOTE: onModuleDestroy is the first shutdown hook, before the HTTP server closes (dispose) and before
  // RedisConnectionModule quits its clients in onApplicationShutdown, so the release still reaches Redis.
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.unsubscribe();
    for (const key of [...this.waiters.keys()]) this.wake(key);
    const held = [...this.held];
    this.held.clear();
    this.abandonHeld();
    if (held.length > 0) this.logger.log(`shutting down: releasing ${held.length} held lock(s)`);
    await Promise.all(held.map((lock) => this.release(lock)));
  }

  /** The credential can still be handed out (it has more than `minServeMs` left). */
  usable(
    record: CredentialRecord | null,
    now = Date.now(),
    minServeMs = this.options.minServeMs,
  ): record is CredentialRecord {
    return record !== null && record.expiresAt - now > minServeMs;
  }

  needsRefresh(record: CredentialRecord, now = Date.now(), horizonMs = this.options.refreshAheadMs): boolean {
    return record.expiresAt - now <= horizonMs;
  }

  async coordinate<T>(appId: string, kind: CredentialKindId, step: CoordinatedStep<T>): Promise<T> {
    const started = Date.now();
    const deadline = started + this.options.waitTimeoutMs;
    const owner = `${this.options.instanceId}:${randomUUID()}`;
    let waited = false;
    for (;;) {
      const done = step.satisfied(await this.read(appId, kind));
      if (done !== undefined) {
        if (waited) this.metrics?.lockWaited(kind, 'done', (Date.now() - started) / 1000);
        return done;
      }
      if (this.stopping) throw new TokenUnavailableError(appId, SHUTTING_DOWN);
      step.beforeLock?.();
      if (await this.tryLock(appId, kind, owner)) {
        if (waited) this.metrics?.lockWaited(kind, 'done', (Date.now() - started) / 1000);
        const lock: HeldLock = { appId, kind, owner };
        this.held.add(lock);
        const watchdog = setInterval(() => {
          this.store.extendLock(appId, kind, owner, this.options.lockTtlMs).catch(() => undefined);
        }, this.options.lockTtlMs / 3);
        try {
          const current = await this.read(appId, kind);
          const done = step.satisfied(current);
          if (done !== undefined) return done;
          return await Promise.race([step.work(current), this.abandoned]).catch((error: unknown) => {
            if (this.held.has(lock)) throw error;
            throw new TokenUnavailableError(appId, SHUTTING_DOWN);
          });
        } finally {
          clearInterval(watchdog);
          // already released by onModuleDestroy when it is no longer held
          if (this.held.delete(lock)) await this.release(lock);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.metrics?.lockWaited(kind, 'timeout', (Date.now() - started) / 1000);
        throw new TokenUnavailableError(
          appId,
          `timed out waiting for another instance to refresh the ${describe(kind)}`,
        );
      }
      waited = true;
      await this.waitForChange(`${appId}:${kind}`, Math.min(POLL_MS, left));
    }
  }

  async read(appId: string, kind: CredentialKindId): Promise<CredentialRecord | null> {
    try {
      return await this.store.get(appId, kind);
    } catch (error) {
      throw new TokenUnavailableError(appId, `the token store is unreachable (${(error as Error).message})`);
    }
  }

  /**
   * Compare-and-set: a write based on an older version never overwrites a newer value. The same value fetched
   * again keeps its version (only its expiry is updated). Returns the record that is current afterwards.
   *
   * `known` is a newer record this process holds than the store does (the store lost it: flushed, restarted
   * empty, failed over): the new record follows it, so a version once handed out never goes back. When the write
   * loses to a token fetched before this one started (an instance put back what the store lost), the one fetched
   * now is the newer (for a rotating kind, the only live one): it is written once more, after that version.
   */
  async save(
    appId: string,
    kind: CredentialKindId,
    current: CredentialRecord | null,
    fetched: FetchedCredential,
    meta: { endpoint: TokenEndpoint; source: string; minServeMs?: number; known?: CredentialRecord },
  ): Promise<{ record: CredentialRecord; changed: boolean }> {
    // NOTE: work abandoned at shutdown no longer holds the lock; CAS orders versions but cannot tell that a
    // value fetched meanwhile by the new holder is the live one, so the abandoned work must not write.
    if (this.stopping) throw new TokenUnavailableError(appId, SHUTTING_DOWN);
    const { known } = meta;
    let base = known && known.version > (current?.version ?? 0) ? known : current;
    let expected = current?.version ?? 0;
    for (let attempt = 1; ; attempt++) {
      const { record, same } = nextRecord(base, fetched, meta);
      const result = await this.compareAndSet(appId, kind, record, expected);
      if (result.stored) return { record, changed: !same };
      const stored = result.current;
      if (attempt === 1 && stored && stored.value !== record.value && stored.fetchedAt < fetched.startedAt) {
        base = stored;
        expected = stored.version;
        continue;
      }
      this.logger.warn(
        `a newer ${describe(kind)} of ${appId} was stored meanwhile (version ${stored?.version}); keeping it`,
      );
      return {
        record: stored && this.usable(stored, Date.now(), meta.minServeMs) ? stored : record,
        changed: false,
      };
    }
  }

  private async compareAndSet(
    appId: string,
    kind: CredentialKindId,
    record: CredentialRecord,
    expected: number,
  ): Promise<{ stored: boolean; current: CredentialRecord | null }> {
    try {
      return await this.store.compareAndSet(appId, kind, record, expected);
    } catch (error) {
      throw new TokenUnavailableError(appId, `the token store is unreachable (${(error as Error).message})`);
    }
  }

  private async tryLock(appId: string, kind: CredentialKindId, owner: string): Promise<boolean> {
    try {
      return await this.store.tryLock(appId, kind, owner, this.options.lockTtlMs);
    } catch (error) {
      throw new TokenUnavailableError(appId, `the token store is unreachable (${(error as Error).message})`);
    }
  }

  private async release({ appId, kind, owner }: HeldLock): Promise<void> {
    await this.store.releaseLock(appId, kind, owner).catch((error: Error) => {
      this.logger.warn(
        `could not release the ${kind} lock of ${appId} (${error.message}); it expires by itself`,
      );
    });
  }

  private waitForChange(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const waiters = set;
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const done of set) done();
  }
}

function describe(kind: CredentialKindId): string {
  return kind === 'token' ? 'token' : kind.replaceAll('_', ' ');
}
