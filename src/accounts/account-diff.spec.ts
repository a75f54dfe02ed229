import { AccountConfig } from './account-config';
import { diffAccounts } from './account-diff';

function account(label: string, settings: Partial<AccountConfig> = {}): AccountConfig {
  return Object.assign(new AccountConfig(), {
    appId: `wx${label.padEnd(16, '0')}`,
    appSecret: `secret${label}`.padEnd(32, 'x'),
    ...settings,
  });
}

describe('diffAccounts', () => {
  it('reports accounts only in the new list as added and only in the old list as removed', () => {
    const a = account('a');
    const b = account('b');
    const c = account('c');
    expect(diffAccounts([a, b], [b, c])).toEqual({
      added: [c.appId],
      removed: [a.appId],
      changed: [],
      unchanged: 1,
    });
  });

  it('counts an account with identical settings as unchanged even when it is a new object', () => {
    const a = account('a', { token: 'tok123', tokenEndpoint: 'legacy' });
    const copy = Object.assign(new AccountConfig(), { ...a });
    expect(diffAccounts([a], [copy])).toEqual({ added: [], removed: [], changed: [], unchanged: 1 });
  });

  it.each([
    ['appSecret', { appSecret: 'another'.padEnd(32, 'y') }],
    ['token', { token: 'newtoken' }],
    ['encodingAESKey', { encodingAESKey: 'k'.repeat(43) }],
    ['messageMode', { messageMode: 'compatible' as const }],
    ['tokenEndpoint', { tokenEndpoint: 'legacy' as const }],
  ])('reports a different %s as changed', (_field, settings) => {
    const a = account('a');
    expect(diffAccounts([a], [account('a', settings)])).toEqual({
      added: [],
      removed: [],
      changed: [a.appId],
      unchanged: 0,
    });
  });

  it('reports the appIds of each list sorted, whatever the order of the lists', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((label) => account(label)) as [
      AccountConfig,
      AccountConfig,
      AccountConfig,
      AccountConfig,
    ];
    const diff = diffAccounts([d, c], [b, a]);
    expect(diff.added).toEqual([a.appId, b.appId]);
    expect(diff.removed).toEqual([c.appId, d.appId]);
  });

  it('reports nothing between two empty lists', () => {
    expect(diffAccounts([], [])).toEqual({ added: [], removed: [], changed: [], unchanged: 0 });
  });
});
