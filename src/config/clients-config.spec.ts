import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error';
import { loadWxhubConfig } from './wxhub-config';

const ACCOUNT = { appId: 'wx1234567890abcdef', appSecret: 'abcdef0123456789abcdef0123456789' };
const ADMIN = 'admin-key-0123456789';
const KEY = 'reader-key-0123456789';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadWxhubConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('clients in the configuration', () => {
  const base = { WECHAT_ACCOUNTS: JSON.stringify([ACCOUNT]), ADMIN_API_KEYS: ADMIN };

  it('reads WECHAT_CLIENTS and keeps the plain keys for the scrubber only', () => {
    const config = loadWxhubConfig({
      ...base,
      WECHAT_CLIENTS: JSON.stringify([
        { name: 'reader', key: KEY, scopes: ['read'], appIds: [ACCOUNT.appId] },
      ]),
    });
    expect(config.clients.map((c) => [c.name, c.scopes, c.appIds])).toEqual([
      ['reader', ['read'], [ACCOUNT.appId]],
    ]);
    expect(config.clientKeys).toEqual([KEY]);
    expect(config.dropIn.acceptAppSecret).toBe(true);
    expect(loadWxhubConfig({ ...base, DROPIN_ACCEPT_APP_SECRET: 'false' }).dropIn.acceptAppSecret).toBe(
      false,
    );
  });

  it('reads the clients: section of the accounts file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wxhub-clients-')), 'accounts.yaml');
    writeFileSync(
      file,
      `accounts:\n  - appId: ${ACCOUNT.appId}\n    appSecret: ${ACCOUNT.appSecret}\n` +
        `clients:\n  - name: ops\n    key: ${KEY}\n    scopes: [operate]\n    appIds: ["*"]\n`,
    );
    const config = loadWxhubConfig({ WECHAT_ACCOUNTS_FILE: file, ADMIN_API_KEYS: ADMIN });
    expect(config.clients.map((c) => [c.name, c.appIds])).toEqual([['ops', '*']]);
    expect(problemsOf({ WECHAT_ACCOUNTS_FILE: file, ADMIN_API_KEYS: ADMIN, WECHAT_CLIENTS: '[]' })).toEqual([
      'set clients either in WECHAT_CLIENTS or in the accounts file, not both',
    ]);
  });

  it('refuses weak, reused and duplicate keys, unknown scopes and accounts, never quoting a key', () => {
    const problems = problemsOf({
      ...base,
      WECHAT_CLIENTS: JSON.stringify([
        { name: 'a', key: 'short', scopes: ['read'], appIds: ['*'] },
        { name: 'b', key: ACCOUNT.appSecret, scopes: ['read'], appIds: ['*'] },
        { name: 'c', key: ADMIN, scopes: ['read'], appIds: ['*'] },
        { name: 'd', key: KEY, scopes: ['write'], appIds: ['*'] },
        { name: 'e', key: KEY, scopes: ['read'], appIds: ['wxunknown'] },
      ]),
    });
    const text = problems.join('\n');
    expect(text).toContain('WECHAT_CLIENTS[0].key (client "a") must be a string of at least 16 characters');
    expect(text).toContain("is an account's AppSecret");
    expect(text).toContain('is one of ADMIN_API_KEYS');
    expect(text).toContain('unknown scopes "write"');
    expect(text).toContain('names accounts that are not configured: wxunknown');
    expect(text).toContain('is the key of WECHAT_CLIENTS[3] too');
    for (const secret of [ACCOUNT.appSecret, ADMIN, KEY]) expect(text).not.toContain(secret);
  });

  it('checks clients against the sandbox demo accounts too', () => {
    const config = loadWxhubConfig({
      WECHAT_SANDBOX: 'true',
      WECHAT_CLIENTS: JSON.stringify([
        { name: 'demo', key: KEY, scopes: ['read'], appIds: ['wxsandboxdemo00001'] },
      ]),
    });
    expect(config.clients).toHaveLength(1);
  });
});
