import { createHash } from 'node:crypto';
import { ClientRegistry } from './client-registry';
import { CLIENT_SCOPES, type ClientScope } from './client-scope';
import { AccessDeniedError } from './errors/access-denied.error';
import { EVERY_ACCOUNT, assertAuthorized, authorize, canUseAccount, type Principal } from './principal';

const A = 'wx0000000000000001';
const B = 'wx0000000000000002';
/** Not configured anywhere. */
const GHOST = 'wx9999999999999999';
const ADMIN_KEY = 'admin-key-0000000000000000001';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

const registry = new ClientRegistry({
  adminKeys: [ADMIN_KEY],
  clients: [
    { name: 'web', keySha256: digest('web-key-000000000000'), scopes: ['read', 'exchange'], appIds: [A] },
    { name: 'ops', keySha256: digest('ops-key-000000000000'), scopes: ['read', 'operate'], appIds: '*' },
  ],
});
const admin = registry.resolve(ADMIN_KEY)!;
const web = registry.resolve('web-key-000000000000')!;
const ops = registry.resolve('ops-key-000000000000')!;

const allowed = (principal: Principal, scope: ClientScope, target?: string | typeof EVERY_ACCOUNT): boolean =>
  authorize(principal, scope, target).allowed;

describe('authorize', () => {
  it('lets an admin key do everything on every account, the fleet included', () => {
    for (const scope of CLIENT_SCOPES) {
      for (const target of [A, B, GHOST, EVERY_ACCOUNT, undefined] as const)
        expect(allowed(admin, scope, target)).toBe(true);
    }
  });

  it('lets a client use its scopes on its accounts, and nothing else', () => {
    const decisions = CLIENT_SCOPES.map((scope) => [scope, allowed(web, scope, A), allowed(web, scope, B)]);

    expect(decisions).toEqual([
      ['read', true, false],
      ['report', false, false],
      ['operate', false, false],
      ['gateway', false, false],
      ['exchange', true, false],
    ]);
  });

  it('refuses an account outside the list with the same answer whether it exists or not', () => {
    const existing = authorize(web, 'read', B);
    const ghost = authorize(web, 'read', GHOST);

    expect(existing).toEqual({
      allowed: false,
      status: 403,
      message: `client "web" may not use account ${B}`,
    });
    expect(ghost).toEqual({
      allowed: false,
      status: 403,
      message: `client "web" may not use account ${GHOST}`,
    });
  });

  it('names the missing scope and what it is for, before looking at the account', () => {
    expect(authorize(web, 'operate', B)).toEqual({
      allowed: false,
      status: 403,
      message: 'client "web" lacks the "operate" scope (forced refreshes, reloads, the audit log)',
    });
  });

  it('lets a fleet-wide action through only for clients of every account', () => {
    expect(allowed(ops, 'operate', EVERY_ACCOUNT)).toBe(true);
    expect(authorize(web, 'read', EVERY_ACCOUNT)).toEqual({
      allowed: false,
      status: 403,
      message: 'client "web" may not act on every account (its appIds are not ["*"])',
    });
  });

  it('checks only the scope when no account is given (a list the caller filters with canUseAccount)', () => {
    expect(allowed(web, 'read')).toBe(true);
    expect(allowed(web, 'gateway')).toBe(false);
    expect([A, B, GHOST].filter((appId) => canUseAccount(web, appId))).toEqual([A]);
    expect([A, B, GHOST].filter((appId) => canUseAccount(ops, appId))).toEqual([A, B, GHOST]);
  });

  it('assertAuthorized throws an AccessDeniedError naming the client, scope and account', () => {
    expect(() => assertAuthorized(web, 'read', A)).not.toThrow();
    let error: unknown;
    try {
      assertAuthorized(web, 'read', B);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({
      client: 'web',
      scope: 'read',
      appId: B,
      message: `client "web" may not use account ${B}`,
    });
  });
});
