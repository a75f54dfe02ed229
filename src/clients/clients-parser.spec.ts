import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { parseClients, parseClientsJson, type ClientsContext } from './clients-parser';

const A = 'wx0000000000000001';
const B = 'wx0000000000000002';
const KEY = 'web-backend-key-0000000001';
const OTHER_KEY = 'worker-key-00000000000000002';
const APP_SECRET = 'appsecret-of-account-a-0001';
const ADMIN_KEY = 'admin-key-0000000000000000001';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const context: ClientsContext = {
  source: 'WECHAT_CLIENTS',
  appIds: [A, B],
  appSecrets: [APP_SECRET],
  adminKeys: [ADMIN_KEY],
};

function problemsOf(raw: unknown, ctx: ClientsContext = context): string[] {
  const result = parseClients(raw, ctx);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe('parseClients', () => {
  it('accepts a key or its SHA-256, scopes, a list of accounts or every account, and keeps no key in the clients', () => {
    const result = parseClients(
      [
        { name: 'web-backend', key: KEY, scopes: ['read', 'report'], appIds: [A] },
        { name: 'ops.tool', keySha256: sha256(OTHER_KEY).toUpperCase(), scopes: ['operate'], appIds: ['*'] },
      ],
      context,
    );

    expect(result).toEqual({
      ok: true,
      clients: [
        {
          name: 'web-backend',
          keySha256: Buffer.from(sha256(KEY), 'hex'),
          scopes: ['read', 'report'],
          appIds: [A],
        },
        {
          name: 'ops.tool',
          keySha256: Buffer.from(sha256(OTHER_KEY), 'hex'),
          scopes: ['operate'],
          appIds: '*',
        },
      ],
      keys: [KEY],
    });
    expect(JSON.stringify(result.ok && result.clients)).not.toContain(KEY);
  });

  it('reads no clients as an empty list', () => {
    expect(parseClients(undefined, context)).toEqual({ ok: true, clients: [], keys: [] });
    expect(parseClients([], context)).toEqual({ ok: true, clients: [], keys: [] });
  });

  it('refuses a list that is not an array, and an entry that is not an object', () => {
    expect(problemsOf({ name: 'x' })).toEqual(['WECHAT_CLIENTS must be an array of clients']);
    expect(problemsOf(['x'])).toEqual(['WECHAT_CLIENTS[0] must be an object']);
  });

  it('refuses an unknown field by its name', () => {
    expect(problemsOf([{ name: 'web', key: KEY, scope: ['read'], scopes: ['read'], appIds: [A] }])).toEqual([
      'WECHAT_CLIENTS[0].scope (client "web") is not a known client field',
    ]);
  });

  it('refuses a missing or malformed name, and a duplicate name with the index of the first', () => {
    expect(problemsOf([{ key: KEY, scopes: ['read'], appIds: [A] }])).toEqual([
      'WECHAT_CLIENTS[0].name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    ]);
    expect(problemsOf([{ name: 'web backend', key: KEY, scopes: ['read'], appIds: [A] }])).toHaveLength(1);
    expect(
      problemsOf([
        { name: 'web', key: KEY, scopes: ['read'], appIds: [A] },
        { name: 'web', key: OTHER_KEY, scopes: ['read'], appIds: [A] },
      ]),
    ).toEqual(['WECHAT_CLIENTS[1].name (client "web") is a duplicate of WECHAT_CLIENTS[0]']);
  });

  it('refuses both key and keySha256, and neither', () => {
    expect(
      problemsOf([{ name: 'web', key: KEY, keySha256: sha256(KEY), scopes: ['read'], appIds: [A] }]),
    ).toEqual(['WECHAT_CLIENTS[0].key (client "web") and keySha256 are both set: give one of them']);
    expect(problemsOf([{ name: 'web', scopes: ['read'], appIds: [A] }])).toEqual([
      'WECHAT_CLIENTS[0].key (client "web") is missing: give "key" (at least 16 characters) or "keySha256"',
    ]);
  });

  it('refuses a weak key: too short, not a string, with spaces', () => {
    const short = 'fifteen-chars-x';
    const problems = problemsOf([
      { name: 'a', key: short, scopes: ['read'], appIds: [A] },
      { name: 'b', key: 1234567890123456, scopes: ['read'], appIds: [A] },
      { name: 'c', key: 'a key with spaces inside', scopes: ['read'], appIds: [A] },
    ]);

    expect(problems).toEqual([
      'WECHAT_CLIENTS[0].key (client "a") must be a string of at least 16 characters',
      'WECHAT_CLIENTS[1].key (client "b") must be a string of at least 16 characters',
      'WECHAT_CLIENTS[2].key (client "c") must be printable ASCII without spaces',
    ]);
    expect(problems.join('\n')).not.toContain(short);
  });

  it('refuses a keySha256 that is not 64 hex digits', () => {
    expect(
      problemsOf([{ name: 'web', keySha256: sha256(KEY).slice(1), scopes: ['read'], appIds: [A] }]),
    ).toEqual(['WECHAT_CLIENTS[0].keySha256 (client "web") must be 64 hex digits (the SHA-256 of the key)']);
  });

  it("refuses a key that is an account's AppSecret or an admin key, given as the key or as its SHA-256", () => {
    const problems = problemsOf([
      { name: 'a', key: APP_SECRET, scopes: ['read'], appIds: [A] },
      { name: 'b', keySha256: sha256(APP_SECRET), scopes: ['read'], appIds: [A] },
      { name: 'c', key: ADMIN_KEY, scopes: ['read'], appIds: [A] },
      { name: 'd', keySha256: sha256(ADMIN_KEY), scopes: ['read'], appIds: [A] },
    ]);

    expect(problems).toEqual([
      `WECHAT_CLIENTS[0].key (client "a") is an account's AppSecret: give each client a key of its own`,
      `WECHAT_CLIENTS[1].key (client "b") is an account's AppSecret: give each client a key of its own`,
      'WECHAT_CLIENTS[1].key (client "b") is the key of WECHAT_CLIENTS[0] too',
      'WECHAT_CLIENTS[2].key (client "c") is one of ADMIN_API_KEYS: give each client a key of its own',
      'WECHAT_CLIENTS[3].key (client "d") is one of ADMIN_API_KEYS: give each client a key of its own',
      'WECHAT_CLIENTS[3].key (client "d") is the key of WECHAT_CLIENTS[2] too',
    ]);
    expect(problems.join('\n')).not.toContain(APP_SECRET);
    expect(problems.join('\n')).not.toContain(ADMIN_KEY);
  });

  it('refuses a key given to two clients, also when one gives its SHA-256', () => {
    const problems = problemsOf([
      { name: 'a', key: KEY, scopes: ['read'], appIds: [A] },
      { name: 'b', key: KEY, scopes: ['read'], appIds: [B] },
      { name: 'c', keySha256: sha256(KEY), scopes: ['gateway'], appIds: [B] },
    ]);

    expect(problems).toEqual([
      'WECHAT_CLIENTS[1].key (client "b") is the key of WECHAT_CLIENTS[0] too',
      'WECHAT_CLIENTS[2].key (client "c") is the key of WECHAT_CLIENTS[0] too',
    ]);
    expect(problems.join('\n')).not.toContain(KEY);
  });

  it('refuses missing, empty or unknown scopes, naming the unknown ones and the known', () => {
    expect(
      problemsOf([
        { name: 'a', key: KEY, appIds: [A] },
        { name: 'b', key: OTHER_KEY, scopes: [], appIds: [A] },
        { name: 'c', keySha256: sha256('c-key-000000000000'), scopes: ['read', 'admin', 7], appIds: [A] },
      ]),
    ).toEqual([
      'WECHAT_CLIENTS[0].scopes (client "a") must be a non-empty array of scopes (read, report, operate, gateway, exchange)',
      'WECHAT_CLIENTS[1].scopes (client "b") must be a non-empty array of scopes (read, report, operate, gateway, exchange)',
      'WECHAT_CLIENTS[2].scopes (client "c") has unknown scopes "admin", a number (known: read, report, operate, gateway, exchange)',
    ]);
  });

  it('refuses missing, empty, malformed or unknown accounts, and "*" beside others', () => {
    expect(
      problemsOf([
        { name: 'a', key: KEY, scopes: ['read'] },
        { name: 'b', key: OTHER_KEY, scopes: ['read'], appIds: [] },
        {
          name: 'c',
          keySha256: sha256('c-key-000000000000'),
          scopes: ['read'],
          appIds: [A, 'wx9999999999999999'],
        },
        { name: 'd', keySha256: sha256('d-key-000000000000'), scopes: ['read'], appIds: ['*', A] },
        { name: 'e', keySha256: sha256('e-key-000000000000'), scopes: ['read'], appIds: ['wx 1'] },
      ]),
    ).toEqual([
      'WECHAT_CLIENTS[0].appIds (client "a") must be a non-empty array of appIds, or ["*"] for every account',
      'WECHAT_CLIENTS[1].appIds (client "b") must be a non-empty array of appIds, or ["*"] for every account',
      'WECHAT_CLIENTS[2].appIds (client "c") names accounts that are not configured: wx9999999999999999',
      'WECHAT_CLIENTS[3].appIds (client "d") "*" (every account) must be alone',
      'WECHAT_CLIENTS[4].appIds (client "e") must hold appIds (letters, digits, "_", "-"): "wx 1" is not one',
    ]);
  });

  it('never quotes a long string written where a scope was expected (it may be a pasted key)', () => {
    const problems = problemsOf([{ name: 'a', keySha256: sha256(KEY), scopes: [OTHER_KEY], appIds: [A] }]);

    expect(problems).toEqual([
      `WECHAT_CLIENTS[0].scopes (client "a") has unknown scopes a ${OTHER_KEY.length}-character string (known: read, report, operate, gateway, exchange)`,
    ]);
  });

  it('reports every problem of every client at once, under the source it is given', () => {
    const problems = problemsOf(
      [
        { name: 'a', key: 'short', scopes: ['read'], appIds: [A] },
        { name: 'b', key: OTHER_KEY, scopes: ['write'], appIds: ['wxnope'] },
      ],
      { ...context, source: 'WECHAT_ACCOUNTS_FILE clients' },
    );

    expect(problems).toEqual([
      'WECHAT_ACCOUNTS_FILE clients[0].key (client "a") must be a string of at least 16 characters',
      'WECHAT_ACCOUNTS_FILE clients[1].scopes (client "b") has unknown scopes "write" (known: read, report, operate, gateway, exchange)',
      'WECHAT_ACCOUNTS_FILE clients[1].appIds (client "b") names accounts that are not configured: wxnope',
    ]);
  });
});

describe('parseClientsJson', () => {
  it('parses WECHAT_CLIENTS', () => {
    const result = parseClientsJson(
      JSON.stringify([{ name: 'web', key: KEY, scopes: ['read'], appIds: [A] }]),
      context,
    );

    expect(result.ok && result.clients.map((c) => c.name)).toEqual(['web']);
  });

  it('reports a JSON syntax error by position only, never quoting the text (a key may be in it)', () => {
    const result = parseClientsJson(`[{"name":"web","key":"${KEY}" "scopes":["read"]}]`, context);

    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^WECHAT_CLIENTS is not valid JSON/);
    expect(problems[0]).not.toContain(KEY.slice(0, 8));
  });
});

describe('parseClients on the accounts file', () => {
  it('reads the clients: block of a YAML accounts file (every scalar a string)', () => {
    const file = parseYaml(
      [
        'accounts: []',
        'clients:',
        '  - name: worker',
        `    key: ${OTHER_KEY}`,
        '    scopes: [read, report]',
        `    appIds: ["${B}"]`,
        '  - name: ops',
        `    keySha256: ${sha256(KEY)}`,
        '    scopes: [operate]',
        '    appIds: ["*"]',
      ].join('\n'),
      { schema: 'failsafe' },
    ) as { clients: unknown };

    const result = parseClients(file.clients, { ...context, source: 'WECHAT_ACCOUNTS_FILE clients' });

    expect(result.ok && result.clients.map((c) => [c.name, c.scopes, c.appIds])).toEqual([
      ['worker', ['read', 'report'], [B]],
      ['ops', ['operate'], '*'],
    ]);
  });
});
