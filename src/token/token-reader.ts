import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import type { AccessToken, CredentialEngine, HeldCredential } from './credential-engine';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { TokenRefresher } from './token-refresher';
import { TokenScheduler } from './token-scheduler';

/**
 * Told of every new token value, version or expiry this instance comes to hold. `forcedByOperator`: the token
 * replaced its predecessor through an operator's forced refresh (the response to a leaked token).
 */
export type TokenLearnedListener = (
  appId: string,
  token: AccessToken,
  how: { forcedByOperator: boolean },
) => void;

/**
 * The access token's read path: the engine's in-process copy (a few seconds old at most, dropped at once when any
 * instance changes the token), then the shared store, and a refresh only when no live token exists. While the store
 * does not answer it serves the copy it holds, renews a stable token on its own and writes it back later.
 */
@Injectable()
export class TokenReader implements OnModuleDestroy {
  private readonly logger = new Logger('TokenService');
  private readonly engine: CredentialEngine;
  private readonly reads = new Map<string, Promise<CredentialRecord | null>>();
  private readonly learnedListeners = new Set<TokenLearnedListener>();
  private readonly unsubscribe: (() => void)[];
  /** When a read of the store last failed; 0 once it answers again. */
  private storeFailedAt = 0;

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly refresher: TokenRefresher,
    private readonly accounts: AccountRegistry,
    scheduler: TokenScheduler,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {
    this.engine = refresher.engine;
    this.unsubscribe = [
      // fetch the new token now, while the store answers: if it becomes unreachable later, the copy kept in
      // memory must be the newest token, not the one just replaced
      this.engine.onStale((appId) => void this.readShared(appId).catch(() => undefined)),
      this.engine.onHeld((appId, held) => {
        for (const listener of this.learnedListeners)
          listener(appId, held.token, { forcedByOperator: held.record.source === 'operator' });
      }),
      // the scheduler reads every account's record at boot and after each change: keeping it here too gives this
      // instance a current copy of every token, so health and gauges need no store read per account
      scheduler.onPlannedRecord((appId, kind, record) => {
        if (kind === 'token') this.engine.learn(appId, record);
      }),
    ];
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  /** The in-process copy within its re-check interval: synchronous, no store command. */
  cachedToken(appId: string): AccessToken | undefined {
    return this.engine.cached(appId)?.token;
  }

  /** The token held in memory, however old (undefined when none). */
  heldRecord(appId: string): CredentialRecord | undefined {
    return this.engine.held(appId)?.record;
  }

  async getToken(appId: string): Promise<AccessToken> {
    return this.cachedToken(appId) ?? this.readSlow(appId);
  }

  /** Keeps `record` as the account's copy. */
  remember(appId: string, record: CredentialRecord): HeldCredential {
    return this.engine.remember(appId, record);
  }

  /** A report says `token` is dead: the copy holding it is re-checked on the next read. */
  distrust(appId: string, token: string): void {
    const held = this.engine.held(appId);
    if (held && held.record.value === token) held.checkedUntil = 0;
  }

  /** The last known live token without triggering a refresh. */
  async peek(appId: string): Promise<AccessToken | null> {
    const record = await this.readShared(appId);
    return this.engine.usable(record) ? this.remember(appId, record).token : null;
  }

  onTokenLearned(listener: TokenLearnedListener): () => void {
    this.learnedListeners.add(listener);
    return () => this.learnedListeners.delete(listener);
  }

  forget(appId: string): void {
    this.engine.forget(appId);
  }

  private async readSlow(appId: string): Promise<AccessToken> {
    this.accounts.getOrThrow(appId);
    const held = this.engine.held(appId);
    if (this.storeFailedAt !== 0 && held && this.engine.usable(held.record)) {
      // the store did not answer last time: the copy is served now, the store asked (and the token renewed when
      // due) in the background, so no reader waits out a store timeout while there is a token to hand out
      this.readShared(appId).catch(() => undefined);
      return held.token;
    }
    const record = await this.readShared(appId);
    const now = Date.now();
    if (this.engine.usable(record, now)) {
      if (this.engine.needsRefresh(record, now))
        this.refresher.refresh(appId, { kind: 'expiring' }).catch(() => undefined);
      return this.remember(appId, record).token;
    }
    const result = await this.refresher.refresh(appId, { kind: 'missing' });
    return this.remember(appId, result.record).token;
  }

  /**
   * One store read per account at a time. When the store fails, the last known live token is served and
   * the store is asked again a second later; with no live token the caller gets TokenUnavailableError.
   */
  readShared(appId: string): Promise<CredentialRecord | null> {
    let read = this.reads.get(appId);
    if (read) return read;
    read = this.store
      .get(appId, 'token')
      .then(
        (record) => {
          this.storeFailedAt = 0;
          const held = this.engine.held(appId);
          if (held && this.engine.usable(held.record) && (!record || record.version < held.record.version)) {
            if (record && record.fetchedAt > held.record.fetchedAt && this.engine.usable(record)) {
              // the store lost ours and holds a token fetched since (a legacy fetch killed ours): serve that one,
              // under a version after the one handed out, so versions never go back
              const renumbered = { ...record, version: held.record.version + 1 };
              this.repairStore(appId, renumbered, record, 'renumbered');
              this.remember(appId, renumbered);
              return renumbered;
            }
            this.repairStore(appId, held.record, record, 'restored');
            return held.record;
          }
          if (record) this.remember(appId, record);
          return record;
        },
        (error: Error) => {
          const held = this.engine.held(appId);
          const now = Date.now();
          this.storeFailedAt = now;
          if (held && this.engine.usable(held.record, now)) {
            held.checkedUntil = Math.min(now + 1000, held.record.expiresAt - this.options.minServeMs);
            if (this.engine.needsRefresh(held.record, now)) {
              this.renewWithoutStore(appId, held.record).catch(() => undefined);
            }
            return held.record;
          }
          return this.renewWithoutStore(appId, held?.record ?? null).catch((renewal: Error) => {
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
    this.engine.learn(appId, record);
    return this.engine.held(appId)?.record ?? record;
  }

  /**
   * The store lost a newer version we handed out (a flush, a restart without data, a failover that dropped the last
   * write): put back our token, or the one fetched since under a version after ours.
   */
  private repairStore(
    appId: string,
    mine: CredentialRecord,
    stored: CredentialRecord | null,
    how: 'restored' | 'renumbered',
  ): void {
    this.store
      .compareAndSet(appId, 'token', mine, stored?.version ?? 0)
      .then(({ stored: ok }) => {
        if (!ok) return;
        this.logger.warn(
          how === 'restored'
            ? `the store had lost token version ${mine.version} of ${appId}; restored it`
            : `the store had lost token versions up to ${mine.version - 1} of ${appId}; its newer token (version ${stored?.version}) is version ${mine.version} now`,
        );
      })
      .catch(() => undefined);
  }
}
