import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import type { AccountConfig } from './account-config';

/** The configured accounts, looked up by appId. */
export class AccountRegistry {
  private accounts = new Map<string, AccountConfig>();
  private readonly listeners = new Set<(accounts: AccountConfig[]) => void>();

  constructor(accounts: AccountConfig[]) {
    this.replace(accounts);
  }

  replace(accounts: AccountConfig[]): void {
    this.accounts = new Map(accounts.map((a) => [a.appId, a]));
    for (const listener of this.listeners) listener(accounts);
  }

  /** Calls `listener` with the new list after each replace (a runtime reload). Returns the unsubscribe. */
  onReplace(listener: (accounts: AccountConfig[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(appId: string): AccountConfig | undefined {
    return this.accounts.get(appId);
  }

  getOrThrow(appId: string): AccountConfig {
    const account = this.accounts.get(appId);
    if (!account) throw new AccountNotFoundError(appId);
    return account;
  }

  list(): AccountConfig[] {
    return [...this.accounts.values()];
  }
}
