import * as crypto from 'node:crypto';
import { ClientRegistry } from './client-registry';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { authenticateDropIn, checkDropInCredentials, type DropInCredentials } from './drop-in-credentials';

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

describe('authenticateDropIn', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-07T12:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  const input = (appId: string, secret: string): DropInCredentials => ({
    appId,
    secret,
    account: accounts.get(appId),
    acceptAppSecret: true,
  });

  it('counts guesses on the drop-in surface only, then answers 45011 with the seconds to wait, even to a right secret', () => {
    const limiter = new AuthFailureLimiter();
    const clients = registry();
    for (let i = 0; i < 20; i++) {
      expect(
        authenticateDropIn(input(A, `wrong-secret-${i}-0000000000`), clients, limiter, '10.0.0.1'),
      ).toMatchObject({
        reason: 'invalid-secret',
      });
    }
    jest.advanceTimersByTime(30_000);

    expect(authenticateDropIn(input(A, SECRET_A), clients, limiter, '10.0.0.1')).toEqual({
      ok: false,
      reason: 'blocked',
      errcode: 45011,
      errmsg:
        'api minute-quota reach limit, must slower, retry in 30 s (wxhub: too many failed authentications from this address)',
      countsAsFailure: false,
      retryAfterSeconds: 30,
    });
    expect(limiter.check('api', '10.0.0.1').blocked).toBe(false);
    expect(authenticateDropIn(input(A, SECRET_A), clients, limiter, '10.0.0.2')).toMatchObject({ ok: true });
  });

  it('does not count a refusal of a valid key or of the real AppSecret', () => {
    const limiter = new AuthFailureLimiter();
    const clients = registry();
    for (let i = 0; i < 25; i++) {
      authenticateDropIn(input(B, READER_A), clients, limiter, '10.0.0.1');
      authenticateDropIn({ ...input(A, SECRET_A), acceptAppSecret: false }, clients, limiter, '10.0.0.1');
    }

    expect(limiter.check('drop-in', '10.0.0.1').blocked).toBe(false);
  });
});
