import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { TokenEndpoint } from '../accounts/account-config';
import type { CredentialKind, CredentialRecord, TokenStore } from '../store/token-store';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';

const POLL_MS = 500;

/** One coordinated refresh: what counts as done already, and the work to do under the lock otherwise. */
export interface CoordinatedStep<T> {
  /** The double check: a result when the store already holds what is wanted. */
  satisfied(record: CredentialRecord | null): T | undefined;
  /** Runs before taking the lock (e.g. refuse while backing off). */
  beforeLock?(): void;
  work(current: CredentialRecord | null): Promise<T>;
}

/** A value fetched from WeChat, about to be stored. */
export interface FetchedCredential {
  value: string;
  expiresInSeconds: number;
  /** ms since epoch when the request left: expiry is measured from here, so it is never later than WeChat's. */
  startedAt: number;
}

/**
 * The fleet-wide single-writer protocol shared by every credential (access token, JS-SDK tickets): read, double
 * check, a lease lock kept alive while the work runs, a second double check after taking it, and compare-and-set
 * writes; whoever does not get the lock is woken by the store's change notification (polling only as a fallback)
 * and gives up after the bounded wait.
 */
@Injectable()
export class CredentialCoordinator implements OnModuleDestroy {
  private readonly logger = new Logger(CredentialCoordinator.name);
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {
    this.unsubscribe = store.onChange((change) => this.wake(`${change.appId}:${change.kind}`));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    for (const key of [...this.waiters.keys()]) this.wake(key);
  }

  /** The credential can still be handed out. */
  usable(record: CredentialRecord | null, now = Date.now()): record is CredentialRecord {
    return record !== null && record.expiresAt - now > this.options.minServeMs;
  }

  needsRefresh(record: CredentialRecord, now = Date.now(), horizonMs = this.options.refreshAheadMs): boolean {
    return record.expiresAt - now <= horizonMs;
  }

  async coordinate<T>(appId: string, kind: CredentialKind, step: CoordinatedStep<T>): Promise<T> {
    const deadline = Date.now() + this.options.waitTimeoutMs;
    const owner = `${this.options.instanceId}:${randomUUID()}`;
    for (;;) {
      const done = step.satisfied(await this.read(appId, kind));
      if (done !== undefined) return done;
      step.beforeLock?.();
      if (await this.tryLock(appId, kind, owner)) {
        const watchdog = setInterval(() => {
          this.store.extendLock(appId, kind, owner, this.options.lockTtlMs).catch(() => undefined);
        }, this.options.lockTtlMs / 3);
        try {
          const current = await this.read(appId, kind);
          return step.satisfied(current) ?? (await step.work(current));
        } finally {
          clearInterval(watchdog);
          await this.store.releaseLock(appId, kind, owner).catch((error: Error) => {
            this.logger.warn(
              `could not release the ${kind} lock of ${appId} (${error.message}); it expires by itself`,
            );
          });
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TokenUnavailableError(
          appId,
          `timed out waiting for another instance to refresh the ${describe(kind)}`,
        );
      }
      await this.waitForChange(`${appId}:${kind}`, Math.min(POLL_MS, left));
    }
  }

  async read(appId: string, kind: CredentialKind): Promise<CredentialRecord | null> {
    try {
      return await this.store.get(appId, kind);
    } catch (error) {
      throw new TokenUnavailableError(appId, `the token store is unreachable (${(error as Error).message})`);
    }
  }

  /**
   * Compare-and-set: a write based on an older version never overwrites a newer value. The same value fetched
   * again keeps its version (only its expiry is updated). Returns the record that is current afterwards.
   */
  async save(
    appId: string,
    kind: CredentialKind,
    current: CredentialRecord | null,
    fetched: FetchedCredential,
    meta: { endpoint: TokenEndpoint; source: string },
  ): Promise<{ record: CredentialRecord; changed: boolean }> {
    const same = current?.value === fetched.value;
    const record: CredentialRecord = {
      value: fetched.value,
      version: same && current ? current.version : (current?.version ?? 0) + 1,
      fetchedAt: same && current ? current.fetchedAt : fetched.startedAt,
      expiresAt: fetched.startedAt + fetched.expiresInSeconds * 1000,
      endpoint: meta.endpoint,
      source: meta.source,
    };
    let result;
    try {
      result = await this.store.compareAndSet(appId, kind, record, current?.version ?? 0);
    } catch (error) {
      throw new TokenUnavailableError(appId, `the token store is unreachable (${(error as Error).message})`);
    }
    if (!result.stored) {
      this.logger.warn(
        `a newer ${describe(kind)} of ${appId} was stored meanwhile (version ${result.current?.version}); keeping it`,
      );
      return {
        record: result.current && this.usable(result.current) ? result.current : record,
        changed: false,
      };
    }
    return { record, changed: !same };
  }

  private async tryLock(appId: string, kind: CredentialKind, owner: string): Promise<boolean> {
    try {
      return await this.store.tryLock(appId, kind, owner, this.options.lockTtlMs);
    } catch (error) {
      throw new TokenUnavailableError(appId, `the token store is unreachable (${(error as Error).message})`);
    }
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

function describe(kind: CredentialKind): string {
  return kind === 'token' ? 'token' : kind.replace('_', ' ');
}
