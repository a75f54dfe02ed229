import * as crypto from 'node:crypto';
import { ClientRegistry } from './client-registry';
import { checkDropInCredentials, type DropInCredentials } from './drop-in-credentials';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof crypto>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const compare = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;

const A = 'wx0000000000000001';
const B = 'wx0000000000000002';
const GHOST = 'wx9999999999999999';
const SECRET_A = 'appsecret-of-account-a-0001';
const ADMIN_KEY = 'admin-key-0000000000000000001';
const READER_A = 'reader-of-a-key-000000001';
const READER_ALL = 'reader-of-all-key-0000001';
const GATEWAY_A = 'gateway-of-a-key-00000001';

const digest = (text: string): Buffer => crypto.createHash('sha256').update(text).digest();
const accounts = new Map([
  [A, { appId: A, appSecret: SECRET_A }],
  [B, { appId: B, appSecret: 'appsecret-of-account-b-0002' }],
]);

function registry(): ClientRegistry {
  return new ClientRegistry({
    adminKeys: [ADMIN_KEY],
    clients: [
      { name: 'reader-a', keySha256: digest(READER_A), scopes: ['read'], appIds: [A] },
      { name: 'reader-all', keySha256: digest(READER_ALL), scopes: ['read'], appIds: '*' },
      { name: 'gateway-a', keySha256: digest(GATEWAY_A), scopes: ['gateway'], appIds: [A] },
    ],
  });
}

function check(appId: string, secret: string, acceptAppSecret: boolean, clients = registry()) {
  const input: DropInCredentials = { appId, secret, account: accounts.get(appId), acceptAppSecret };
  return checkDropInCredentials(input, clients);
}

describe('checkDropInCredentials', () => {
  beforeEach(() => compare.mockClear());

  describe.each([true, false])('DROPIN_ACCEPT_APP_SECRET=%s', (acceptAppSecret) => {
    it('accepts the key of a client with read on the appid, naming the client', () => {
      expect(check(A, READER_A, acceptAppSecret)).toMatchObject({
        ok: true,
        via: 'client',
        principal: { name: 'reader-a' },
      });
      expect(check(B, READER_ALL, acceptAppSecret)).toMatchObject({
        ok: true,
        via: 'client',
        principal: { name: 'reader-all' },
      });
      expect(check(B, ADMIN_KEY, acceptAppSecret)).toMatchObject({
        ok: true,
        via: 'client',
        principal: { kind: 'admin' },
      });
    });

    it('refuses a client key without read on the appid with 48001, the same for an account that does not exist', () => {
      const other = check(B, READER_A, acceptAppSecret);
      const ghost = check(GHOST, READER_A, acceptAppSecret);
      const noScope = check(A, GATEWAY_A, acceptAppSecret);

      expect(other).toEqual({
        ok: false,
        reason: 'forbidden',
        errcode: 48001,
        errmsg: `api unauthorized (wxhub: this key may not read appid ${B})`,
        countsAsFailure: false,
        principal: expect.objectContaining({ name: 'reader-a' }),
      });
      expect(ghost).toMatchObject({ reason: 'forbidden', errcode: 48001, countsAsFailure: false });
      expect(noScope).toMatchObject({ reason: 'forbidden', errcode: 48001, countsAsFailure: false });
    });

    it('answers 40013 for an unknown appid to a client of every account, not counted as a guess', () => {
      expect(check(GHOST, READER_ALL, acceptAppSecret)).toMatchObject({
        ok: false,
        reason: 'unknown-appid',
        errcode: 40013,
        errmsg: 'invalid appid',
        countsAsFailure: false,
      });
    });

    it('refuses a wrong secret with 40125 and an unknown appid with 40013, both counted as guesses', () => {
      expect(check(A, 'wrong-secret-00000000000', acceptAppSecret)).toEqual({
        ok: false,
        reason: 'invalid-secret',
        errcode: 40125,
        errmsg: 'invalid appsecret',
        countsAsFailure: true,
      });
      expect(check(GHOST, 'wrong-secret-00000000000', acceptAppSecret)).toMatchObject({
        reason: 'unknown-appid',
        errcode: 40013,
        countsAsFailure: true,
      });
      // the AppSecret of another account is a wrong secret too
      expect(check(B, SECRET_A, acceptAppSecret)).toMatchObject({ reason: 'invalid-secret', errcode: 40125 });
    });

    it('compares the AppSecret and every key on every call, whichever matches', () => {
      for (const [appId, secret] of [
        [A, SECRET_A],
        [A, 'wrong-secret-00000000000'],
        [GHOST, 'wrong-secret-00000000000'],
      ] as const) {
        compare.mockClear();
        check(appId, secret, acceptAppSecret);
        // one AppSecret comparison + the admin key + three clients
        expect(compare).toHaveBeenCalledTimes(1 + 4);
      }
    });
  });

  it('accepts the AppSecret while DROPIN_ACCEPT_APP_SECRET is true', () => {
    expect(check(A, SECRET_A, true)).toEqual({ ok: true, via: 'app-secret', actorId: 'sdk' });
  });

  it('refuses the AppSecret while DROPIN_ACCEPT_APP_SECRET is false, saying why, without counting a guess', () => {
    expect(check(A, SECRET_A, false)).toEqual({
      ok: false,
      reason: 'app-secret-refused',
      errcode: 40125,
      errmsg: 'invalid appsecret (wxhub: the AppSecret is not accepted here, use a client key with "read")',
      countsAsFailure: false,
    });
  });

  it('refuses the key of a client removed by a reload', () => {
    const clients = registry();
    expect(check(A, READER_A, false, clients)).toMatchObject({ ok: true });

    clients.replace({ adminKeys: [ADMIN_KEY], clients: [] });

    expect(check(A, READER_A, false, clients)).toMatchObject({
      ok: false,
      reason: 'invalid-secret',
      countsAsFailure: true,
    });
  });
});
