import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AccountConfig } from '../accounts/account-config';
import { AccountRegistry } from '../accounts/account-registry';
import { ConfigError } from '../config/config-error';
import { loadWxhubConfig, type WxhubConfig } from '../config/wxhub-config';
import { SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM } from '../sandbox/sandbox.constants';
import type { AuditLog } from '../audit/audit-log.service';
import type { SandboxRuntime } from '../sandbox/sandbox.module';
import type { TokenScheduler } from '../token/token-scheduler';
import type { TokenService } from '../token/token.service';
import { ClientRegistry } from '../clients/client-registry';
import { AccountsReloader } from './accounts-reloader';

const A = { appId: 'wxaaaaaaaaaaaaaaaa', appSecret: 'secretaaaaaaaaaaaaaaaa' };
const B = { appId: 'wxbbbbbbbbbbbbbbbb', appSecret: 'secretbbbbbbbbbbbbbbbb' };
const C = { appId: 'wxcccccccccccccccc', appSecret: 'secretcccccccccccccccc' };

function accounts(...list: object[]): AccountConfig[] {
  return list.map((a) => Object.assign(new AccountConfig(), a));
}

function setup(env: NodeJS.ProcessEnv) {
  const config: WxhubConfig = loadWxhubConfig(env);
  const registry = new AccountRegistry(config.accounts);
  const scheduler = { track: jest.fn(), untrack: jest.fn() };
  const tokens = { forget: jest.fn(), accountChanged: jest.fn() };
  const audit = { record: jest.fn(() => Promise.resolve(undefined)) };
  const clients = new ClientRegistry({ adminKeys: config.admin.apiKeys, clients: config.clients });
  const reloader = new AccountsReloader(
    config,
    registry,
    scheduler as unknown as TokenScheduler,
    tokens as unknown as TokenService,
    { simulator: null, baseUrl: null } as unknown as SandboxRuntime,
    clients,
    audit as unknown as AuditLog,
  );
  return { registry, scheduler, tokens, reloader, audit, clients };
}

describe('AccountsReloader', () => {
  const saved = { ...process.env };

  afterEach(() => {
    process.env = { ...saved };
  });

  it('replaces the clients with the accounts, and refuses clients that name a removed account', async () => {
    const key = 'reader-key-0123456789';
    const reader = { name: 'reader', key, scopes: ['read'], appIds: [B.appId] };
    const { registry, reloader, clients } = setup({
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify(accounts(A, B)),
      WECHAT_CLIENTS: JSON.stringify([reader]),
    });
    expect(clients.resolve(key)?.name).toBe('reader');

    process.env.WECHAT_ACCOUNTS = JSON.stringify(accounts(A));
    process.env.WECHAT_CLIENTS = JSON.stringify([reader]);
    const refused = await reloader.reload().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems.join()).toContain('not configured: ' + B.appId);
    expect(registry.list()).toHaveLength(2);
    expect(clients.resolve(key)?.name).toBe('reader');

    process.env.WECHAT_CLIENTS = '[]';
    const revision = clients.revision;
    await reloader.reload();
    expect(clients.resolve(key)).toBeUndefined();
    expect(clients.revision).not.toBe(revision);
  });

  it('swaps the registry, plans tokens for added accounts, stops removed ones and re-plans changed ones afresh', async () => {
    const { registry, scheduler, tokens, reloader } = setup({
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify(accounts(A, B)),
    });
    process.env.WECHAT_ACCOUNTS = JSON.stringify([{ ...A, tokenEndpoint: 'legacy' }, C]);

    const diff = await reloader.reload();

    expect(diff).toEqual({ added: [C.appId], removed: [B.appId], changed: [A.appId], unchanged: 0 });
    expect(registry.list().map((a) => a.appId)).toEqual([A.appId, C.appId]);
    expect(registry.get(A.appId)?.tokenEndpoint).toBe('legacy');
    expect(scheduler.track.mock.calls).toEqual([[C.appId]]);
    expect(scheduler.untrack.mock.calls).toEqual([[B.appId]]);
    expect(tokens.forget.mock.calls).toEqual([[B.appId]]);
    // a changed account drops the backoff of its old settings; its stored token is kept
    expect(tokens.accountChanged.mock.calls).toEqual([[A.appId]]);
  });

  it('changes nothing and throws the ConfigError when the new accounts are invalid', async () => {
    const { registry, scheduler, tokens, reloader } = setup({
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify(accounts(A)),
    });
    process.env.WECHAT_ACCOUNTS = JSON.stringify([C, { appId: 'wxbad', appSecret: 'short' }]);

    const error = await reloader.reload().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'WECHAT_ACCOUNTS[1].appId must be "wx" followed by 16 letters or digits',
      'WECHAT_ACCOUNTS[1].appSecret must be 16 to 64 letters or digits',
    ]);
    expect(registry.list().map((a) => a.appId)).toEqual([A.appId]);
    expect(scheduler.track).not.toHaveBeenCalled();
    expect(tokens.forget).not.toHaveBeenCalled();
  });

  it('refuses JSON pushes on an Official Account on reload too, and applies a change of kind', async () => {
    const { registry, reloader } = setup({
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify(accounts(A)),
    });
    process.env.WECHAT_ACCOUNTS = JSON.stringify([{ ...A, messageFormat: 'json' }]);

    const error = await reloader.reload().catch((e: unknown) => e);

    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^WECHAT_ACCOUNTS\[0\]\.messageFormat json is only for kind miniProgram/),
    ]);
    expect(registry.get(A.appId)?.messageFormat).toBe('xml');

    process.env.WECHAT_ACCOUNTS = JSON.stringify([{ ...A, kind: 'miniProgram', messageFormat: 'json' }]);
    expect(await reloader.reload()).toMatchObject({ changed: [A.appId] });
    expect(registry.get(A.appId)).toMatchObject({ kind: 'miniProgram', messageFormat: 'json' });
  });

  it('refuses a reload that would leave no account when NODE_ENV=production', async () => {
    const { registry, reloader } = setup({
      NODE_ENV: 'production',
      WECHAT_ACCOUNTS: JSON.stringify(accounts(A)),
    });
    process.env.WECHAT_ACCOUNTS = '[]';

    await expect(reloader.reload()).rejects.toThrow(/would leave no account/);
    expect(registry.list().map((a) => a.appId)).toEqual([A.appId]);
  });

  it('keeps the demo account in sandbox mode', async () => {
    const { registry, scheduler, reloader } = setup({ WECHAT_SANDBOX: 'true' });
    process.env.WECHAT_ACCOUNTS = JSON.stringify([A]);

    const diff = await reloader.reload();

    expect(diff).toEqual({ added: [A.appId], removed: [], changed: [], unchanged: 2 });
    expect(registry.get(SANDBOX_DEMO_ACCOUNT.appId)).toBeDefined();
    expect(registry.get(SANDBOX_DEMO_MINI_PROGRAM.appId)).toMatchObject({ kind: 'miniProgram' });
    expect(scheduler.untrack).not.toHaveBeenCalled();
  });

  it('a failed reload does not block the next one', async () => {
    const { reloader } = setup({ WECHAT_SANDBOX: 'false', WECHAT_ACCOUNTS: JSON.stringify(accounts(A)) });
    process.env.WECHAT_ACCOUNTS = 'not json';

    await expect(reloader.reload()).rejects.toBeInstanceOf(ConfigError);
    process.env.WECHAT_ACCOUNTS = JSON.stringify([A, B]);
    await expect(reloader.reload()).resolves.toEqual({
      added: [B.appId],
      removed: [],
      changed: [],
      unchanged: 1,
    });
  });

  describe('watching WECHAT_ACCOUNTS_FILE', () => {
    let dir: string;
    let file: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'wxhub-reloader-'));
      file = join(dir, 'accounts.json');
      writeFileSync(file, JSON.stringify([A]));
    });

    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('writes no audit entry when the file is re-read unchanged (at boot, or touched), one when it changes', async () => {
      const { registry, reloader, audit } = setup({ WECHAT_SANDBOX: 'false', WECHAT_ACCOUNTS_FILE: file });
      process.env.WECHAT_ACCOUNTS_FILE = file;
      reloader.onApplicationBootstrap();
      try {
        // the boot-time reconcile re-reads the file about 2 s after the start
        await delay(3_500);
        writeFileSync(file, JSON.stringify([A]));
        await delay(2_500);
        expect(audit.record).not.toHaveBeenCalled();

        writeFileSync(file, JSON.stringify([A, B]));
        const deadline = Date.now() + 5_000;
        while (!registry.get(B.appId) && Date.now() < deadline) await delay(50);
        await delay(100);
        expect(
          audit.record.mock.calls.map(([event]: unknown[]) => (event as { action: string }).action),
        ).toEqual(['accounts.reload', 'account.added']);
      } finally {
        reloader.onModuleDestroy();
      }
      // an operator's reload is an action of its own: recorded even when it changes nothing
      await reloader.reload({ id: 'ops' });
      expect(audit.record).toHaveBeenLastCalledWith(expect.objectContaining({ action: 'accounts.reload' }));
    }, 20_000);

    it('applies a change of the file by itself, and no longer after shutdown', async () => {
      const { registry, reloader } = setup({ WECHAT_SANDBOX: 'false', WECHAT_ACCOUNTS_FILE: file });
      process.env.WECHAT_ACCOUNTS_FILE = file;
      reloader.onApplicationBootstrap();
      try {
        writeFileSync(file, JSON.stringify([A, B]));
        const deadline = Date.now() + 5_000;
        while (!registry.get(B.appId) && Date.now() < deadline) await delay(50);
        expect(registry.get(B.appId)).toBeDefined();
      } finally {
        reloader.onModuleDestroy();
      }

      writeFileSync(file, JSON.stringify([A, B, C]));
      await delay(2_000);

      expect(registry.get(C.appId)).toBeUndefined();
    }, 15_000);
  });
});
