import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_ADMIN_KEY, SANDBOX_DEMO_ACCOUNT } from '../sandbox/sandbox.constants';
import { ConfigError } from './config-error';
import { loadWxhubConfig, parseAccounts } from './wxhub-config';

const STABLE = { appId: 'wx1234567890abcdef', appSecret: 'abcdef0123456789abcdef0123456789' };
const LEGACY = {
  appId: 'wxfedcba0987654321',
  appSecret: '0123456789abcdef0123456789abcdef',
  tokenEndpoint: 'legacy',
};
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

function accountsEnv(accounts: unknown, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { WECHAT_ACCOUNTS: JSON.stringify(accounts), ...env };
}

/** The ConfigError that `load` throws; fails the test if it throws something else or nothing. */
function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

function loadError(env: NodeJS.ProcessEnv): ConfigError {
  return configError(() => loadWxhubConfig(env));
}

/** Fails if `text` contains the secret or any 8-character piece of it. */
function expectNoPieceOf(secret: string, text: string): void {
  for (let i = 0; i + 8 <= secret.length; i += 1) {
    expect(text).not.toContain(secret.slice(i, i + 8));
  }
}

describe('loadWxhubConfig', () => {
  describe('with an empty environment', () => {
    it('enables the sandbox with its demo account and admin key', () => {
      const config = loadWxhubConfig({});

      expect(config.sandbox.enabled).toBe(true);
      expect(config.accounts).toHaveLength(1);
      expect(config.accounts[0]).toMatchObject(SANDBOX_DEMO_ACCOUNT);
      expect(config.admin.apiKeys).toEqual([SANDBOX_ADMIN_KEY]);
    });

    it('uses the documented defaults', () => {
      const config = loadWxhubConfig({});

      expect(config).toMatchObject({
        nodeEnv: 'development',
        port: 3000,
        host: '0.0.0.0',
        logLevel: 'info',
        redis: null,
        keyPrefix: 'wxhub',
        apiBaseUrl: 'https://api.weixin.qq.com',
        trustProxy: false,
        admin: { allowedIps: [] },
      });
      expect(config.token).toEqual({
        refreshAheadSeconds: 240,
        lockTtlMs: 10_000,
        waitTimeoutMs: 10_000,
        upstreamTimeoutMs: 5_000,
        forceDailyBudget: 20,
        forceMinIntervalSeconds: 30,
      });
    });
  });

  describe('sandbox and production', () => {
    it('disables the sandbox and adds no demo account or admin key once accounts are configured', () => {
      const config = loadWxhubConfig(accountsEnv([STABLE]));

      expect(config.sandbox.enabled).toBe(false);
      expect(config.accounts.map((a) => a.appId)).toEqual([STABLE.appId]);
      expect(config.admin.apiKeys).toEqual([]);
    });

    it('adds the demo account next to configured ones when WECHAT_SANDBOX=true', () => {
      const config = loadWxhubConfig(accountsEnv([STABLE], { WECHAT_SANDBOX: 'true' }));

      expect(config.sandbox.enabled).toBe(true);
      expect(config.accounts.map((a) => a.appId)).toEqual([STABLE.appId, SANDBOX_DEMO_ACCOUNT.appId]);
    });

    it('refuses production without any account, naming WECHAT_ACCOUNTS', () => {
      const error = loadError({ NODE_ENV: 'production' });

      expect(error.problems).toHaveLength(1);
      expect(error.message).toContain('WECHAT_ACCOUNTS');
    });

    it('refuses WECHAT_SANDBOX=true in production', () => {
      const error = loadError(accountsEnv([STABLE], { NODE_ENV: 'production', WECHAT_SANDBOX: 'true' }));

      expect(error.message).toMatch(/WECHAT_SANDBOX=true is refused when NODE_ENV=production/);
    });

    it('accepts production with accounts, leaving the sandbox off', () => {
      const config = loadWxhubConfig(accountsEnv([STABLE], { NODE_ENV: 'production' }));

      expect(config.nodeEnv).toBe('production');
      expect(config.sandbox.enabled).toBe(false);
      expect(config.accounts).toHaveLength(1);
    });
  });

  describe('account validation', () => {
    const badSecondAccount: [string, Record<string, unknown>, string][] = [
      ['a malformed appId', { ...LEGACY, appId: 'wx123' }, 'WECHAT_ACCOUNTS[1].appId must be'],
      ['a missing appId', { appSecret: LEGACY.appSecret }, 'WECHAT_ACCOUNTS[1].appId must be'],
      ['a too short appSecret', { ...LEGACY, appSecret: 'abc123' }, 'WECHAT_ACCOUNTS[1].appSecret must be'],
      ['a missing appSecret', { appId: LEGACY.appId }, 'WECHAT_ACCOUNTS[1].appSecret must be'],
      ['a bad callback token', { ...LEGACY, token: 'no spaces!' }, 'WECHAT_ACCOUNTS[1].token must be'],
      [
        'compatible mode without encodingAESKey',
        { ...LEGACY, messageMode: 'compatible' },
        'WECHAT_ACCOUNTS[1].encodingAESKey is required',
      ],
      [
        'safe mode without encodingAESKey',
        { ...LEGACY, messageMode: 'safe' },
        'WECHAT_ACCOUNTS[1].encodingAESKey is required',
      ],
      [
        'an encodingAESKey of the wrong length',
        { ...LEGACY, encodingAESKey: 'tooShort' },
        'WECHAT_ACCOUNTS[1].encodingAESKey must be 43',
      ],
      [
        'an unknown messageMode',
        { ...LEGACY, messageMode: 'encrypted' },
        'WECHAT_ACCOUNTS[1].messageMode must be one of',
      ],
      [
        'an unknown tokenEndpoint',
        { ...LEGACY, tokenEndpoint: 'fast' },
        'WECHAT_ACCOUNTS[1].tokenEndpoint must be one of',
      ],
      [
        'an unknown field',
        { ...LEGACY, secret: 'x' },
        'WECHAT_ACCOUNTS[1].secret is not a known account field',
      ],
      ['a duplicate appId', { ...LEGACY, appId: STABLE.appId }, 'WECHAT_ACCOUNTS[1].appId is a duplicate'],
    ];

    it.each(badSecondAccount)('refuses %s, naming the field path', (_what, second, expected) => {
      const error = loadError(accountsEnv([STABLE, second]));

      expect(error.problems.some((problem) => problem.startsWith(expected))).toBe(true);
      expect(error.problems.every((problem) => problem.startsWith('WECHAT_ACCOUNTS[1]'))).toBe(true);
    });

    it('refuses an account that is not an object', () => {
      const error = loadError(accountsEnv([STABLE, 'wx1234567890abcdef']));

      expect(error.problems).toEqual(['WECHAT_ACCOUNTS[1] must be an object']);
    });

    it('refuses WECHAT_ACCOUNTS that is not an array', () => {
      const error = loadError(accountsEnv(STABLE));

      expect(error.problems).toEqual(['WECHAT_ACCOUNTS must be an array of accounts']);
    });

    it('refuses WECHAT_ACCOUNTS that is not valid JSON', () => {
      const error = loadError({ WECHAT_ACCOUNTS: '[{"appId": "wx1234567890abcdef",}]' });

      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^WECHAT_ACCOUNTS is not valid JSON/);
    });

    it('accepts compatible and safe modes with an encodingAESKey, and plain mode without one', () => {
      const config = loadWxhubConfig(
        accountsEnv([
          { ...STABLE, messageMode: 'compatible', encodingAESKey: AES_KEY, token: 'callbackToken1' },
          { ...LEGACY, messageMode: 'safe', encodingAESKey: AES_KEY },
          { appId: 'wx00000000000000aa', appSecret: 'plainsecret00000001' },
        ]),
      );

      expect(config.accounts.map((a) => [a.messageMode, a.tokenEndpoint])).toEqual([
        ['compatible', 'stable'],
        ['safe', 'legacy'],
        ['plain', 'stable'],
      ]);
      expect(config.accounts[0]).toMatchObject({ token: 'callbackToken1', encodingAESKey: AES_KEY });
    });

    it('reports the problems of every account at once', () => {
      const error = loadError(
        accountsEnv([
          { ...STABLE, appSecret: 'x' },
          { ...LEGACY, tokenEndpoint: 'fast' },
        ]),
      );

      expect(error.problems).toEqual([
        expect.stringMatching(/^WECHAT_ACCOUNTS\[0\]\.appSecret /),
        expect.stringMatching(/^WECHAT_ACCOUNTS\[1\]\.tokenEndpoint /),
      ]);
      expect(error.message).toContain('WECHAT_ACCOUNTS[0].appSecret');
      expect(error.message).toContain('WECHAT_ACCOUNTS[1].tokenEndpoint');
    });
  });

  describe('secrets in error messages', () => {
    it('never repeats a rejected appSecret', () => {
      const secret = 'Sup3rS3cretValue-with-a-dash-0123456789';

      const error = loadError(accountsEnv([{ ...STABLE, appSecret: secret }]));

      expect(error.message).toContain('WECHAT_ACCOUNTS[0].appSecret');
      expectNoPieceOf(secret, error.message);
    });

    it('never repeats a rejected encodingAESKey', () => {
      const key = 'ThisAesKeyIsSecretButOneCharTooShort0123456';

      const error = loadError(
        accountsEnv([{ ...STABLE, messageMode: 'safe', encodingAESKey: `${key.slice(0, 40)}!!!` }]),
      );

      expect(error.message).toContain('WECHAT_ACCOUNTS[0].encodingAESKey');
      expectNoPieceOf(key.slice(0, 40), error.message);
    });

    it('never repeats the value of an unknown field, which may be a misspelt secret', () => {
      const secret = 'MisspeltSecretValue0123456789';

      const error = loadError(
        accountsEnv([{ appId: STABLE.appId, appSecret: STABLE.appSecret, app_secret: secret }]),
      );

      expect(error.message).toContain('WECHAT_ACCOUNTS[0].app_secret');
      expectNoPieceOf(secret, error.message);
    });

    it('never quotes the secret when WECHAT_ACCOUNTS is invalid JSON around it', () => {
      // A shell user's likely slip: single quotes around the secret inside the JSON.
      const secret = 'TopSecretValue0123456789';
      const text = `[{"appId":"${STABLE.appId}","appSecret":'${secret}'}]`;

      const error = configError(() => parseAccounts(text, 'WECHAT_ACCOUNTS'));

      expect(error.message).toMatch(/WECHAT_ACCOUNTS is not valid JSON/);
      expectNoPieceOf(secret, error.message);
    });

    it('never repeats an admin API key that is too short', () => {
      const error = loadError({ ADMIN_API_KEYS: 'sh0rtKey!x' });

      expect(error.message).toContain('ADMIN_API_KEYS');
      expect(error.message).not.toContain('sh0rtKey!x');
    });
  });

  describe('environment variables', () => {
    it('refuses a PORT that is not a whole number', () => {
      expect(loadError({ PORT: 'abc' }).problems).toContain('PORT must be a whole number');
      expect(loadError({ PORT: '80.5' }).problems).toContain('PORT must be a whole number');
    });

    it('reads numbers and strings from the environment', () => {
      const config = loadWxhubConfig({
        PORT: '8080',
        REDIS_KEY_PREFIX: 'fleet-a',
        WECHAT_API_BASE_URL: 'http://127.0.0.1:9000/',
        TOKEN_FORCE_DAILY_BUDGET: '5',
      });

      expect(config.port).toBe(8080);
      expect(config.keyPrefix).toBe('fleet-a');
      expect(config.apiBaseUrl).toBe('http://127.0.0.1:9000');
      expect(config.token.forceDailyBudget).toBe(5);
    });

    it('reports every bad variable at once, each by name', () => {
      const error = loadError({ PORT: 'abc', LOG_LEVEL: 'loud', REDIS_KEY_PREFIX: 'has space' });

      expect(error.problems).toHaveLength(3);
      expect(error.message).toMatch(/PORT/);
      expect(error.message).toMatch(/LOG_LEVEL/);
      expect(error.message).toMatch(/REDIS_KEY_PREFIX/);
    });

    it('refuses TOKEN_REFRESH_AHEAD_SECONDS=300 while an account uses the stable endpoint', () => {
      const error = loadError(accountsEnv([STABLE, LEGACY], { TOKEN_REFRESH_AHEAD_SECONDS: '300' }));

      expect(error.message).toMatch(/TOKEN_REFRESH_AHEAD_SECONDS must be below 300/);
    });

    it('refuses TOKEN_REFRESH_AHEAD_SECONDS=300 for the sandbox demo account, which is stable', () => {
      expect(loadError({ TOKEN_REFRESH_AHEAD_SECONDS: '300' }).message).toMatch(
        /TOKEN_REFRESH_AHEAD_SECONDS/,
      );
    });

    it('allows TOKEN_REFRESH_AHEAD_SECONDS=300 when every account is legacy, and 299 with stable ones', () => {
      expect(
        loadWxhubConfig(accountsEnv([LEGACY], { TOKEN_REFRESH_AHEAD_SECONDS: '300' })).token
          .refreshAheadSeconds,
      ).toBe(300);
      expect(
        loadWxhubConfig(accountsEnv([STABLE], { TOKEN_REFRESH_AHEAD_SECONDS: '299' })).token
          .refreshAheadSeconds,
      ).toBe(299);
    });
  });

  describe('Redis connection', () => {
    it('reads REDIS_URL', () => {
      expect(loadWxhubConfig({ REDIS_URL: 'redis://cache:6379/2' }).redis).toEqual({
        kind: 'url',
        url: 'redis://cache:6379/2',
      });
    });

    it('refuses a REDIS_URL without a redis scheme', () => {
      expect(loadError({ REDIS_URL: 'http://cache:6379' }).problems).toEqual([
        'REDIS_URL must start with redis:// or rediss://',
      ]);
    });

    it('reads REDIS_SENTINELS with REDIS_SENTINEL_NAME', () => {
      const config = loadWxhubConfig({
        REDIS_SENTINELS: 's1:26379, s2:26380',
        REDIS_SENTINEL_NAME: 'mymaster',
      });

      expect(config.redis).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        name: 'mymaster',
      });
    });

    it('refuses REDIS_URL together with REDIS_SENTINELS', () => {
      const error = loadError({
        REDIS_URL: 'redis://cache:6379',
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
      });

      expect(error.problems).toEqual([
        'set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got REDIS_URL and REDIS_SENTINELS)',
      ]);
    });

    it('refuses REDIS_CLUSTER_NODES together with REDIS_SENTINELS, naming both', () => {
      const error = loadError({
        REDIS_CLUSTER_NODES: 'n1:7000',
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
      });

      expect(error.problems).toEqual([
        'set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got REDIS_SENTINELS and REDIS_CLUSTER_NODES)',
      ]);
    });

    it('refuses REDIS_SENTINELS without REDIS_SENTINEL_NAME', () => {
      expect(loadError({ REDIS_SENTINELS: 's1:26379' }).problems).toEqual([
        'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS',
      ]);
    });

    it('refuses a malformed REDIS_SENTINELS list', () => {
      expect(loadError({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'mymaster' }).message).toMatch(
        /REDIS_SENTINELS must be host:port/,
      );
    });

    it('reads REDIS_CLUSTER_NODES as seed nodes, with REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS', () => {
      const config = loadWxhubConfig({
        REDIS_CLUSTER_NODES: 'n1:7000, 10.0.0.2:7001',
        REDIS_USERNAME: 'wxhub',
        REDIS_PASSWORD: 'cluster-pass-123',
        REDIS_TLS: 'true',
      });

      expect(config.redis).toEqual({
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
        ],
        username: 'wxhub',
        password: 'cluster-pass-123',
        tls: true,
      });
    });

    it('reads the data-node password and the sentinels own password in Sentinel mode', () => {
      const config = loadWxhubConfig({
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_PASSWORD: 'master-pass-123',
        REDIS_SENTINEL_PASSWORD: 'sentinel-pass-456',
      });

      expect(config.redis).toEqual({
        kind: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'mymaster',
        password: 'master-pass-123',
        sentinelPassword: 'sentinel-pass-456',
      });
    });

    it('refuses a malformed REDIS_CLUSTER_NODES list and a port out of range', () => {
      expect(loadError({ REDIS_CLUSTER_NODES: 'n1:7000,n2' }).message).toMatch(
        /REDIS_CLUSTER_NODES must be host:port/,
      );
      expect(loadError({ REDIS_CLUSTER_NODES: 'n1:7000,n2:70000' }).problems).toEqual([
        'REDIS_CLUSTER_NODES: port 70000 is out of range',
      ]);
    });

    it('refuses REDIS_PASSWORD with REDIS_URL without echoing it (credentials go in the URL)', () => {
      const error = loadError({ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: 'do-not-echo-me' });

      expect(error.problems).toEqual([
        expect.stringMatching(
          /^REDIS_PASSWORD applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL/,
        ),
      ]);
      expect(error.message).not.toContain('do-not-echo-me');
    });

    it('refuses Redis credentials or a sentinel name when no Redis is configured', () => {
      expect(loadError({ REDIS_PASSWORD: 'x', REDIS_SENTINEL_NAME: 'mymaster' }).problems).toEqual([
        'REDIS_SENTINEL_NAME is only used with REDIS_SENTINELS',
        'REDIS_PASSWORD is set but no Redis is (REDIS_SENTINELS or REDIS_CLUSTER_NODES)',
      ]);
    });
  });

  describe('admin access and proxies', () => {
    it('refuses an admin API key shorter than 16 characters', () => {
      const error = loadError({ ADMIN_API_KEYS: 'a-long-enough-admin-key,15-characters!!' });

      expect(error.problems).toEqual(['ADMIN_API_KEYS: every key must be at least 16 characters']);
    });

    it('reads a trimmed list of admin API keys, replacing the sandbox key', () => {
      const config = loadWxhubConfig({ ADMIN_API_KEYS: ' first-admin-key-0001 , second-admin-key-002 ' });

      expect(config.admin.apiKeys).toEqual(['first-admin-key-0001', 'second-admin-key-002']);
    });

    it.each(['10.0.0.0/33', 'not-an-ip', '10.0.0.1,300.1.1.1', 'fd00::/129'])(
      'refuses ADMIN_ALLOWED_IPS=%s',
      (value) => {
        expect(loadError({ ADMIN_ALLOWED_IPS: value }).problems).toEqual([
          expect.stringMatching(/^ADMIN_ALLOWED_IPS: /),
        ]);
      },
    );

    it('accepts a list of IPv4 and IPv6 addresses and CIDRs in ADMIN_ALLOWED_IPS', () => {
      const config = loadWxhubConfig({ ADMIN_ALLOWED_IPS: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8' });

      expect(config.admin.allowedIps).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    });

    it.each([
      ['2', 2],
      ['true', true],
      ['false', false],
      ['10.0.0.0/8, 192.168.1.1', ['10.0.0.0/8', '192.168.1.1']],
    ])('reads TRUST_PROXY=%s', (value, expected) => {
      expect(loadWxhubConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
    });

    it.each(['10.0.0.0/40', 'proxy.local'])('refuses TRUST_PROXY=%s', (value) => {
      expect(loadError({ TRUST_PROXY: value }).problems).toEqual([expect.stringMatching(/^TRUST_PROXY: /)]);
    });
  });

  describe('WECHAT_ACCOUNTS_FILE', () => {
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'wxhub-config-spec-'));
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    function file(name: string, text: string): string {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    }

    it('reads a YAML file holding a bare array of accounts', () => {
      const path = file(
        'bare.yaml',
        [
          `- appId: ${STABLE.appId}`,
          `  appSecret: ${STABLE.appSecret}`,
          `  messageMode: compatible`,
          `  encodingAESKey: ${AES_KEY}`,
          `- appId: ${LEGACY.appId}`,
          `  appSecret: ${LEGACY.appSecret}`,
          `  tokenEndpoint: legacy`,
          '',
        ].join('\n'),
      );

      const config = loadWxhubConfig({ WECHAT_ACCOUNTS_FILE: path });

      expect(config.accountsFile).toBe(path);
      expect(config.sandbox.enabled).toBe(false);
      expect(config.accounts.map((a) => ({ ...a }))).toEqual([
        { ...STABLE, messageMode: 'compatible', encodingAESKey: AES_KEY, tokenEndpoint: 'stable' },
        { ...LEGACY, messageMode: 'plain' },
      ]);
    });

    it('reads a YAML file holding {accounts: [...]}', () => {
      const path = file(
        'wrapped.yml',
        `accounts:\n  - appId: ${STABLE.appId}\n    appSecret: ${STABLE.appSecret}\n`,
      );

      const config = loadWxhubConfig({ WECHAT_ACCOUNTS_FILE: path });

      expect(config.accounts.map((a) => a.appId)).toEqual([STABLE.appId]);
    });

    it('reads a JSON file', () => {
      const path = file('accounts.json', JSON.stringify({ accounts: [LEGACY] }));

      expect(loadWxhubConfig({ WECHAT_ACCOUNTS_FILE: path }).accounts.map((a) => a.tokenEndpoint)).toEqual([
        'legacy',
      ]);
    });

    it('names bad fields with the WECHAT_ACCOUNTS_FILE path', () => {
      const path = file('bad.yaml', `- appId: ${STABLE.appId}\n  appSecret: nope\n`);

      expect(loadError({ WECHAT_ACCOUNTS_FILE: path }).problems).toEqual([
        expect.stringMatching(/^WECHAT_ACCOUNTS_FILE\[0\]\.appSecret must be/),
      ]);
    });

    it('refuses a file that is not valid YAML', () => {
      const path = file('broken.yaml', `- appId: ${STABLE.appId}\n  appSecret: "unterminated\n`);

      expect(loadError({ WECHAT_ACCOUNTS_FILE: path }).problems).toEqual([
        expect.stringMatching(/^WECHAT_ACCOUNTS_FILE is not valid YAML\/JSON \(near line \d+\)$/),
      ]);
    });

    it('refuses a missing file with a message naming the variable and the cause', () => {
      const error = loadError({ WECHAT_ACCOUNTS_FILE: join(dir, 'missing.yaml') });

      expect(error.problems).toEqual(['WECHAT_ACCOUNTS_FILE cannot be read: ENOENT']);
    });

    it('refuses WECHAT_ACCOUNTS together with WECHAT_ACCOUNTS_FILE', () => {
      const path = file('both.yaml', `- appId: ${STABLE.appId}\n  appSecret: ${STABLE.appSecret}\n`);

      const error = loadError(accountsEnv([LEGACY], { WECHAT_ACCOUNTS_FILE: path }));

      expect(error.problems).toEqual(['set either WECHAT_ACCOUNTS or WECHAT_ACCOUNTS_FILE, not both']);
    });
  });
});

describe('parseAccounts', () => {
  it('parses JSON for WECHAT_ACCOUNTS and fills in the default mode and endpoint', () => {
    const [account, ...rest] = parseAccounts(JSON.stringify([STABLE]), 'WECHAT_ACCOUNTS');

    expect(rest).toEqual([]);
    expect(account).toMatchObject({ ...STABLE, messageMode: 'plain', tokenEndpoint: 'stable' });
  });

  it('parses YAML for a file source', () => {
    const accounts = parseAccounts(
      `- appId: ${LEGACY.appId}\n  appSecret: ${LEGACY.appSecret}\n  tokenEndpoint: legacy\n`,
      'WECHAT_ACCOUNTS_FILE',
    );

    expect(accounts.map((a) => [a.appId, a.tokenEndpoint])).toEqual([[LEGACY.appId, 'legacy']]);
  });

  it('treats YAML text given as WECHAT_ACCOUNTS as invalid JSON', () => {
    const error = configError(() => parseAccounts(`- appId: ${STABLE.appId}\n`, 'WECHAT_ACCOUNTS'));

    expect(error.problems).toEqual([expect.stringMatching(/^WECHAT_ACCOUNTS is not valid JSON/)]);
  });

  it('accepts an empty list', () => {
    expect(parseAccounts('[]', 'WECHAT_ACCOUNTS')).toEqual([]);
  });
});

describe('DOCS_ENABLED', () => {
  it('serves the docs by default, in production too (the document holds no secret), and not with false', () => {
    expect(loadWxhubConfig({}).docs).toEqual({ enabled: true });
    expect(loadWxhubConfig(accountsEnv([STABLE], { NODE_ENV: 'production' })).docs).toEqual({
      enabled: true,
    });
    expect(loadWxhubConfig({ DOCS_ENABLED: 'false' }).docs).toEqual({ enabled: false });
  });

  it('refuses anything but true or false, naming the variable', () => {
    const error = configError(() => loadWxhubConfig({ DOCS_ENABLED: 'no' }));

    expect(error.problems).toEqual([expect.stringMatching(/^DOCS_ENABLED /)]);
  });
});

describe('audit log and rate limits', () => {
  it('defaults to a 10 000-entry audit log and per-minute limits', () => {
    const config = loadWxhubConfig({});

    expect(config.audit).toEqual({ maxEntries: 10_000 });
    expect(config.throttle).toEqual({
      windowSeconds: 60,
      forceRefresh: 5,
      invalidReports: 600,
      reload: 6,
      auditReads: 120,
      failedAuth: 20,
    });
  });

  it('reads AUDIT_MAX_ENTRIES and THROTTLE_*; 0 turns a limit off', () => {
    const config = loadWxhubConfig({
      AUDIT_MAX_ENTRIES: '500',
      THROTTLE_WINDOW_SECONDS: '10',
      THROTTLE_FORCE_REFRESH_LIMIT: '0',
      THROTTLE_INVALID_REPORT_LIMIT: '100',
      THROTTLE_RELOAD_LIMIT: '2',
      THROTTLE_AUDIT_READ_LIMIT: '30',
      THROTTLE_FAILED_AUTH_LIMIT: '5',
    });

    expect(config.audit.maxEntries).toBe(500);
    expect(config.throttle).toEqual({
      windowSeconds: 10,
      forceRefresh: 0,
      invalidReports: 100,
      reload: 2,
      auditReads: 30,
      failedAuth: 5,
    });
  });

  it('names each bad value', () => {
    const error = configError(() =>
      loadWxhubConfig({
        AUDIT_MAX_ENTRIES: '5',
        THROTTLE_WINDOW_SECONDS: '0',
        THROTTLE_RELOAD_LIMIT: 'many',
        THROTTLE_FAILED_AUTH_LIMIT: '-1',
      }),
    );

    expect(error.problems).toEqual([
      'THROTTLE_RELOAD_LIMIT must be a whole number',
      'AUDIT_MAX_ENTRIES must not be less than 10',
      'THROTTLE_WINDOW_SECONDS must not be less than 1',
      'THROTTLE_FAILED_AUTH_LIMIT must not be less than 0',
    ]);
  });
});
