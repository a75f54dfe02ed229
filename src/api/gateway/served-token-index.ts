import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { AccountRegistry } from '../../accounts/account-registry';
import { TokenService, type AccessToken } from '../../token/token.service';

/** Tokens remembered at most (all accounts); the oldest learned is forgotten first. */
const MAX_TOKENS = 4_096;
/** A token is recognised until this long after its own expiry (an SDK's clock and cache may lag). */
const GRACE_MS = 10 * 60_000;
/** Misses re-read the accounts' current tokens from the store at most this often. */
const RESYNC_INTERVAL_MS = 1_000;

interface Served {
  appId: string;
  acceptUntil: number;
}

/**
 * Which configured account an access_token belongs to, for tokens this hub handed out: every token the token
 * plane of this instance comes to hold (TokenService.onTokenLearned), current or superseded, kept in a bounded
 * map (an operator's forced refresh drops the account's older tokens). A token it does not know is looked up once more after re-reading every account's current token from the
 * shared store (at most once a second), which covers tokens fetched by another instance.
 */
@Injectable()
export class ServedTokenIndex implements OnModuleDestroy {
  private readonly served = new Map<string, Served>();
  private readonly unsubscribe: () => void;
  private resyncing: Promise<void> | null = null;
  private lastResyncAt = 0;

  constructor(
    private readonly tokens: TokenService,
    private readonly accounts: AccountRegistry,
  ) {
    this.unsubscribe = tokens.onTokenLearned((appId, token, how) => {
      // an operator forces a refresh when a token leaked: from then on only the new token is recognised
      if (how.forcedByOperator) this.forgetAccount(appId);
      this.remember(appId, token);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** The appId of a token this hub handed out and still recognises, else undefined. */
  async appIdOf(value: string): Promise<string | undefined> {
    const known = this.lookup(value);
    if (known !== undefined) return known;
    await this.resync();
    return this.lookup(value);
  }

  /** How many tokens are remembered (for tests and metrics). */
  get size(): number {
    return this.served.size;
  }

  private lookup(value: string): string | undefined {
    const entry = this.served.get(value);
    if (!entry) return undefined;
    if (Date.now() > entry.acceptUntil || !this.accounts.get(entry.appId)) {
      this.served.delete(value);
      return undefined;
    }
    return entry.appId;
  }

  private forgetAccount(appId: string): void {
    for (const [value, entry] of this.served) if (entry.appId === appId) this.served.delete(value);
  }

  private remember(appId: string, token: AccessToken): void {
    this.served.delete(token.value);
    if (this.served.size >= MAX_TOKENS) {
      const oldest = this.served.keys().next();
      if (!oldest.done) this.served.delete(oldest.value);
    }
    this.served.set(token.value, { appId, acceptUntil: token.expiresAt.getTime() + GRACE_MS });
  }

  private resync(): Promise<void> {
    if (this.resyncing) return this.resyncing;
    if (Date.now() - this.lastResyncAt < RESYNC_INTERVAL_MS) return Promise.resolve();
    this.lastResyncAt = Date.now();
    // peek reads the shared store (never WeChat); what it finds reaches remember() through onTokenLearned
    this.resyncing = Promise.all(
      this.accounts.list().map(({ appId }) => this.tokens.peek(appId).catch(() => null)),
    ).then(
      () => undefined,
      () => undefined,
    );
    void this.resyncing.finally(() => (this.resyncing = null));
    return this.resyncing;
  }
}
