import {
  accountsEnv,
  AES_KEY,
  configError,
  LEGACY,
  loadError,
  STABLE,
} from '../../test/support/config-fixtures';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAccounts, parseAccountsFile } from './accounts-file';
import { loadWxhubConfig } from './wxhub-config';

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
      {
        ...STABLE,
        messageMode: 'compatible',
        encodingAESKey: AES_KEY,
        tokenEndpoint: 'stable',
        kind: 'officialAccount',
        messageFormat: 'xml',
      },
      { ...LEGACY, messageMode: 'plain', kind: 'officialAccount', messageFormat: 'xml' },
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

describe('the object form', () => {
  it('reads { accounts: [...] } from WECHAT_ACCOUNTS as from a file', () => {
    const { accounts } = parseAccountsFile(JSON.stringify({ accounts: [STABLE, LEGACY] }), 'WECHAT_ACCOUNTS');

    expect(accounts.map((a) => [a.appId, a.tokenEndpoint])).toEqual([
      [STABLE.appId, 'stable'],
      [LEGACY.appId, 'legacy'],
    ]);
  });

  it('reads an object without an accounts section as no accounts', () => {
    expect(parseAccountsFile('{}', 'WECHAT_ACCOUNTS').accounts).toEqual([]);
  });

  it('refuses an unknown top-level key, naming it and the known sections', () => {
    const error = configError(() =>
      parseAccountsFile(
        `accounts: []\ncomponent:\n  - componentAppId: wx0000000000000001\n`,
        'WECHAT_ACCOUNTS_FILE',
      ),
    );

    expect(error.problems).toEqual([
      'WECHAT_ACCOUNTS_FILE.component is not a known section (known: accounts, clients)',
    ]);
  });

  it('names a bad account of the accounts section as in the bare form', () => {
    const error = configError(() =>
      parseAccountsFile(JSON.stringify({ accounts: [{ ...STABLE, appSecret: 'nope' }] }), 'WECHAT_ACCOUNTS'),
    );

    expect(error.problems).toEqual([expect.stringMatching(/^WECHAT_ACCOUNTS\[0\]\.appSecret must be/)]);
  });

  it('refuses an accounts section that is not a list', () => {
    const error = configError(() =>
      parseAccountsFile(JSON.stringify({ accounts: STABLE }), 'WECHAT_ACCOUNTS'),
    );

    expect(error.problems).toEqual(['WECHAT_ACCOUNTS must be an array of accounts']);
  });

  it('refuses a file that is neither a list nor an object', () => {
    const error = configError(() => parseAccountsFile('just text', 'WECHAT_ACCOUNTS_FILE'));

    expect(error.problems).toEqual([
      'WECHAT_ACCOUNTS_FILE must be an array of accounts or an object such as { accounts: [...] }',
    ]);
  });
});

describe('kind and messageFormat', () => {
  it('default to an Official Account pushing XML', () => {
    const [account] = parseAccounts(JSON.stringify([STABLE]), 'WECHAT_ACCOUNTS');

    expect(account).toMatchObject({ kind: 'officialAccount', messageFormat: 'xml' });
  });

  it('accept a Mini Program pushing JSON, from JSON and from YAML', () => {
    const [json] = parseAccounts(
      JSON.stringify([{ ...STABLE, kind: 'miniProgram', messageFormat: 'json' }]),
      'WECHAT_ACCOUNTS',
    );
    const [yaml] = parseAccounts(
      `- appId: ${LEGACY.appId}\n  appSecret: ${LEGACY.appSecret}\n  kind: miniProgram\n`,
      'WECHAT_ACCOUNTS_FILE',
    );

    expect(json).toMatchObject({ kind: 'miniProgram', messageFormat: 'json' });
    expect(yaml).toMatchObject({ kind: 'miniProgram', messageFormat: 'xml' });
  });

  it('refuses JSON pushes on an Official Account, naming the field', () => {
    const error = configError(() =>
      parseAccounts(JSON.stringify([STABLE, { ...LEGACY, messageFormat: 'json' }]), 'WECHAT_ACCOUNTS'),
    );

    expect(error.problems).toEqual([
      'WECHAT_ACCOUNTS[1].messageFormat json is only for kind miniProgram (Official Accounts push XML); ' +
        'set kind: miniProgram or remove messageFormat',
    ]);
  });

  it('refuses an unknown kind or format, naming the field and the allowed values', () => {
    const error = configError(() =>
      parseAccounts(
        JSON.stringify([
          { ...STABLE, kind: 'miniprogram' },
          { ...LEGACY, messageFormat: 'JSON' },
        ]),
        'WECHAT_ACCOUNTS',
      ),
    );

    expect(error.problems).toEqual([
      'WECHAT_ACCOUNTS[0].kind must be one of officialAccount, miniProgram',
      'WECHAT_ACCOUNTS[1].messageFormat must be one of xml, json',
    ]);
  });

  it('stops the boot for JSON pushes on an Official Account', () => {
    const error = loadError(accountsEnv([{ ...STABLE, messageFormat: 'json' }], { WECHAT_SANDBOX: 'false' }));

    expect(error.problems).toEqual([
      expect.stringMatching(/^WECHAT_ACCOUNTS\[0\]\.messageFormat json is only/),
    ]);
  });
});
