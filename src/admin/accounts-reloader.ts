import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { accountKind, type AccountConfig } from '../accounts/account-config';
import { diffAccounts, type AccountsDiff } from '../accounts/account-diff';
import { AccountRegistry } from '../accounts/account-registry';
import { INTERNAL_ACTOR, type AuditActor } from '../audit/audit-entry';
import { AuditLog } from '../audit/audit-log.service';
import { ConfigError } from '../config/config-error';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import { ClientRegistry } from '../clients/client-registry';
import type { ClientDefinition } from '../clients/clients-parser';
import { loadAccountsFile } from '../config/accounts-file';
import { loadClients } from '../config/clients-config';
import { SecretScrubber } from '../logging/secret-scrubber';
import { withSandboxDemoAccounts } from '../config/sandbox-defaults';
import type { WxhubConfig } from '../config/wxhub-config';
import { SandboxRuntime } from '../sandbox/sandbox.module';
import { TokenScheduler } from '../token/token-scheduler';
import { TokenService } from '../token/token.service';

const POLL_INTERVAL_MS = 1_000;
const DEBOUNCE_MS = 300;
/** WeChat rotates a stable token only in its last 5 minutes (the same rule as the boot-time check). */
const STABLE_ROTATION_WINDOW_SECONDS = 300;
const FILE_WATCH: AuditActor = Object.freeze({ id: 'file-watch' });

/**
 * Applies a new list of accounts and clients without a restart: `POST /api/v1/accounts/reload`, every change of
 * WECHAT_ACCOUNTS_FILE, and a clients change announced by another instance (ClientsBroadcast). The clients are
 * checked against the new accounts first: an invalid list refuses the whole reload (nothing changes). Stored tokens are never deleted: a removed account's token stays in the shared store (another
 * instance may still serve it, and adding the account back finds it again); a changed account keeps its token until
 * the next refresh, which uses the new settings.
 */
@Injectable()
export class AccountsReloader implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AccountsReloader.name);
  private queue: Promise<unknown> = Promise.resolve();
  private debounce: NodeJS.Timeout | undefined;
  private reconcile: NodeJS.Timeout | undefined;
  private watched: string | undefined;
  private stopped = false;

  constructor(
    @InjectWxhubConfig() private readonly config: WxhubConfig,
    private readonly registry: AccountRegistry,
    private readonly scheduler: TokenScheduler,
    private readonly tokens: TokenService,
    private readonly sandbox: SandboxRuntime,
    private readonly clients: ClientRegistry,
    @Optional() private readonly audit?: AuditLog,
    @Optional() private readonly scrubber?: SecretScrubber,
  ) {}

  onApplicationBootstrap(): void {
    const file = this.config.accountsFile;
    if (!file) return;
    // NOTE: polling by path, not fs.watch: editors and config-map mounts replace the file by a rename, which an
    // inode watch misses; a stat every second costs nothing
    watchFile(file, { interval: POLL_INTERVAL_MS, persistent: false }, this.onFileStat);
    this.watched = file;
    // the poll's first stat is its baseline: a change made since the boot read the file would go unseen
    this.reconcile = setTimeout(() => this.reloadSoon(), 2 * POLL_INTERVAL_MS).unref();
    this.logger.log(`watching ${file} for account changes`);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearTimeout(this.reconcile);
    if (this.watched) unwatchFile(this.watched, this.onFileStat);
    this.watched = undefined;
  }

  /**
   * Re-reads WECHAT_ACCOUNTS / WECHAT_ACCOUNTS_FILE with the boot-time validation and applies the difference.
   * Reloads run one at a time. Throws ConfigError (nothing changed) when the new accounts are not valid.
   * `actor` (who asked) goes to the audit log: one `accounts.reload` entry, and one `account.added|removed|changed`
   * entry per account concerned.
   */
  reload(actor: AuditActor = INTERNAL_ACTOR): Promise<AccountsDiff> {
    const run = this.queue
      .then(() => this.apply())
      .then(
        (diff) => {
          this.auditReload(actor, diff);
          return diff;
        },
        (error: unknown) => {
          const reason = error instanceof ConfigError ? error.problems.join('; ') : (error as Error).message;
          void this.audit?.record({ action: 'accounts.reload', actor, result: 'failed', reason });
          throw error;
        },
      );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private auditReload(actor: AuditActor, diff: AccountsDiff): void {
    if (!this.audit) return;
    const { added, removed, changed, unchanged } = diff;
    // the file watch re-reads the file at boot (its baseline) and on any touch: an entry only when it changed
    // something; an operator's reload is recorded even when it changes nothing
    if (actor === FILE_WATCH && added.length + removed.length + changed.length === 0) return;
    void this.audit.record({
      action: 'accounts.reload',
      actor,
      result: 'ok',
      details: { added, removed, changed, unchanged },
    });
    for (const [action, appIds] of [
      ['account.added', added],
      ['account.removed', removed],
      ['account.changed', changed],
    ] as const) {
      for (const appId of appIds) void this.audit.record({ action, appId, actor, result: 'ok' });
    }
  }

  private readonly onFileStat = (current: Stats, previous: Stats): void => {
    if (
      current.mtimeMs === previous.mtimeMs &&
      current.ctimeMs === previous.ctimeMs &&
      current.ino === previous.ino &&
      current.size === previous.size
    )
      return;
    this.reloadSoon();
  };

  private reloadSoon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      if (this.stopped) return;
      this.reload(FILE_WATCH).catch((error: unknown) => {
        const problems = error instanceof ConfigError ? error.problems.join('; ') : (error as Error).message;
        this.logger.warn(
          `WECHAT_ACCOUNTS_FILE changed but was not applied, the accounts are unchanged: ${problems}`,
        );
      });
    }, DEBOUNCE_MS);
  }

  private async apply(): Promise<AccountsDiff> {
    const { accounts: next, clients, clientKeys } = this.readConfiguration();
    const diff = diffAccounts(this.registry.list(), next);
    // the keys are scrubbed from the logs before any request can carry them
    this.scrubber?.addConfigured({ accounts: [], apiKeys: clientKeys });
    this.registry.replace(next);
    const revision = this.clients.revision;
    this.clients.replace({ adminKeys: this.config.admin.apiKeys, clients });
    if (this.clients.revision !== revision) {
      this.logger.log(`clients reloaded: ${clients.map((c) => c.name).join(', ') || 'none'}`);
    }
    for (const appId of diff.removed) {
      this.scheduler.untrack(appId);
      this.tokens.forget(appId);
    }
    for (const appId of diff.added) {
      const account = this.registry.getOrThrow(appId);
      this.sandbox.simulator?.addApp({ appId, appSecret: account.appSecret, kind: accountKind(account) });
      this.scheduler.track(appId);
    }
    for (const appId of diff.changed) {
      const account = this.registry.getOrThrow(appId);
      this.sandbox.simulator?.addApp({ appId, appSecret: account.appSecret, kind: accountKind(account) });
      this.tokens.accountChanged(appId);
    }
    if (diff.added.length + diff.removed.length + diff.changed.length === 0) {
      this.logger.debug(`accounts reloaded: no change (${diff.unchanged} accounts)`);
      return diff;
    }
    this.logger.log(
      `accounts reloaded: added [${diff.added.join(', ')}], removed [${diff.removed.join(', ')}], ` +
        `changed [${diff.changed.join(', ')}], ${diff.unchanged} unchanged`,
    );
    return diff;
  }

  private readConfiguration(): {
    accounts: AccountConfig[];
    clients: ClientDefinition[];
    clientKeys: string[];
  } {
    const file = loadAccountsFile(process.env);
    let accounts = file.accounts;
    const problems: string[] = [];
    if (this.config.sandbox.enabled) accounts = withSandboxDemoAccounts(accounts);
    if (accounts.length === 0 && this.config.nodeEnv === 'production') {
      problems.push('the reload would leave no account (refused when NODE_ENV=production)');
    }
    if (
      this.config.token.refreshAheadSeconds >= STABLE_ROTATION_WINDOW_SECONDS &&
      accounts.some((a) => a.tokenEndpoint === 'stable')
    ) {
      problems.push(
        'TOKEN_REFRESH_AHEAD_SECONDS must be below 300 while an account uses the stable endpoint (stable tokens only rotate in their last 5 minutes)',
      );
    }
    let clients: ReturnType<typeof loadClients> = { clients: [], keys: [] };
    try {
      clients = loadClients(process.env, file, accounts, this.config.admin.apiKeys);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
    if (problems.length) throw new ConfigError(problems);
    return { accounts, clients: clients.clients, clientKeys: clients.keys };
  }
}
