import {
  accountsEnv,
  AES_KEY,
  configError,
  LEGACY,
  loadError,
  STABLE,
} from '../../test/support/config-fixtures';
import { parseAccounts } from './accounts-file';
import { SANDBOX_ADMIN_KEY, SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM } from './sandbox-defaults';
import { loadWxhubConfig } from './wxhub-config';

/** Fails if `text` contains the secret or any 8-character piece of it. */
function expectNoPieceOf(secret: string, text: string): void {
  for (let i = 0; i + 8 <= secret.length; i += 1) {
    expect(text).not.toContain(secret.slice(i, i + 8));
  }
}

describe('loadWxhubConfig', () => {
  describe('with an empty environment', () => {
    it('enables the sandbox with its demo account, demo Mini Program and admin key', () => {
      const config = loadWxhubConfig({});

      expect(config.sandbox.enabled).toBe(true);
      expect(config.accounts).toHaveLength(2);
      expect(config.accounts[0]).toMatchObject(SANDBOX_DEMO_ACCOUNT);
      expect(config.accounts[1]).toMatchObject(SANDBOX_DEMO_MINI_PROGRAM);
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
      expect(config.accounts.map((a) => a.appId)).toEqual([
        STABLE.appId,
        SANDBOX_DEMO_ACCOUNT.appId,
        SANDBOX_DEMO_MINI_PROGRAM.appId,
      ]);
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
