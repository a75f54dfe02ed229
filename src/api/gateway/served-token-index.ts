import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { AccountRegistry } from '../../accounts/account-registry';
import { TokenService, type AccessToken } from '../../token/token.service';

/** Tokens remembered per account: the current one and the last ones it replaced (an SDK may still hold them). */
export const TOKENS_PER_ACCOUNT = 4;
/** A token is recognised until this long after its own expiry (an SDK's clock and cache may lag). */
const GRACE_MS = 10 * 60_000;
/** Misses re-read the accounts' current tokens from the store at most this often, longer for many accounts. */
const RESYNC_INTERVAL_MS = 1_000;
/** Accounts re-read per second of interval: 10,000 accounts are re-read at most every 5 s. */
const RESYNC_ACCOUNTS_PER_SECOND = 2_000;

interface Served {
  appId: string;
  value: string;
  acceptUntil: number;
}

/**
 * Which configured account an access_token belongs to, for tokens this hub handed out: every token the token
 * plane of this instance comes to hold (TokenService.onTokenLearned), current or superseded, the last
 * {@link TOKENS_PER_ACCOUNT} of each account — so every account's current token is always known, whatever the
 * number of accounts (an operator's forced refresh drops the account's older tokens). Tokens fetched by another
 * instance arrive through the store's change notifications; a token it still does not know is looked up once more
 * after re-reading every account's current token from the shared store — at most once a second, and for large
 * fleets at most {@link RESYNC_ACCOUNTS_PER_SECOND} accounts a second, so a stream of foreign tokens cannot turn
 * into a stream of store reads.
 */
@Injectable()
export class ServedTokenIndex implements OnModuleDestroy {
  private readonly byValue = new Map<string, Served>();
  private readonly byAccount = new Map<string, Served[]>();
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
    return this.byValue.size;
  }

  private lookup(value: string): string | undefined {
    const entry = this.byValue.get(value);
    if (!entry) return undefined;
    if (Date.now() > entry.acceptUntil || !this.accounts.get(entry.appId)) {
      this.drop(entry);
      return undefined;
    }
    return entry.appId;
  }

  private forgetAccount(appId: string): void {
    for (const entry of this.byAccount.get(appId) ?? []) this.byValue.delete(entry.value);
    this.byAccount.delete(appId);
  }

  private remember(appId: string, token: AccessToken): void {
    const known = this.byValue.get(token.value);
    if (known) this.drop(known);
    const entry: Served = { appId, value: token.value, acceptUntil: token.expiresAt.getTime() + GRACE_MS };
    const recent = this.byAccount.get(appId) ?? [];
    recent.push(entry);
    while (recent.length > TOKENS_PER_ACCOUNT) this.byValue.delete(recent.shift()!.value);
    this.byAccount.set(appId, recent);
    this.byValue.set(token.value, entry);
  }

  private drop(entry: Served): void {
    this.byValue.delete(entry.value);
    const recent = this.byAccount.get(entry.appId);
    if (!recent) return;
    const left = recent.filter((other) => other !== entry);
    if (left.length > 0) this.byAccount.set(entry.appId, left);
    else this.byAccount.delete(entry.appId);
  }

  private resync(): Promise<void> {
    if (this.resyncing) return this.resyncing;
    const accounts = this.accounts.list();
    const interval = Math.max(RESYNC_INTERVAL_MS, (accounts.length / RESYNC_ACCOUNTS_PER_SECOND) * 1000);
    if (Date.now() - this.lastResyncAt < interval) return Promise.resolve();
    this.lastResyncAt = Date.now();
    // peek reads the shared store (never WeChat); what it finds reaches remember() through onTokenLearned
    this.resyncing = Promise.all(accounts.map(({ appId }) => this.tokens.peek(appId).catch(() => null))).then(
      () => undefined,
      () => undefined,
    );
    void this.resyncing.finally(() => (this.resyncing = null));
    return this.resyncing;
  }
}
