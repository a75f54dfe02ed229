import { createHash } from 'node:crypto';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { authenticateBearer } from './bearer-authentication';
import { ClientRegistry } from './client-registry';

const IP = '10.0.0.1';
const ADMIN_KEY = 'admin-key-0000000000000000001';
const WEB_KEY = 'web-backend-key-0000000001';
const WRONG = 'wrong-key-00000000000000000';

const registry = new ClientRegistry({
  adminKeys: [ADMIN_KEY],
  clients: [
    {
      name: 'web',
      keySha256: createHash('sha256').update(WEB_KEY).digest(),
      scopes: ['read'],
      appIds: ['wx0000000000000001'],
    },
  ],
});

describe('authenticateBearer', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-07T12:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('names the principal of an admin key or a client key', () => {
    const limiter = new AuthFailureLimiter();

    expect(authenticateBearer(registry, limiter, IP, `Bearer ${ADMIN_KEY}`)).toMatchObject({
      ok: true,
      principal: { kind: 'admin' },
    });
    expect(authenticateBearer(registry, limiter, IP, `Bearer ${WEB_KEY}`)).toMatchObject({
      ok: true,
      principal: { name: 'web', actorId: 'client:web' },
    });
  });

  it('answers 401 for a missing header without counting it, and for a wrong key counting it as a guess', () => {
    const limiter = new AuthFailureLimiter();
    for (let i = 0; i < 25; i++) {
      expect(authenticateBearer(registry, limiter, IP, undefined)).toEqual({
        ok: false,
        status: 401,
        message: 'missing "Authorization: Bearer <key>" header',
      });
    }
    expect(limiter.peek('api', IP).blocked).toBe(false);

    for (let i = 0; i < 20; i++) {
      expect(authenticateBearer(registry, limiter, IP, `Bearer ${WRONG}`)).toEqual({
        ok: false,
        status: 401,
        message: 'invalid API key',
      });
    }
    expect(limiter.peek('api', IP).blocked).toBe(true);
  });

  it('refuses a blocked address with 429 and the seconds to wait, even with a valid key', () => {
    const limiter = new AuthFailureLimiter();
    for (let i = 0; i < 20; i++) authenticateBearer(registry, limiter, IP, `Bearer ${WRONG}`);
    jest.advanceTimersByTime(20_000);

    expect(authenticateBearer(registry, limiter, IP, `Bearer ${ADMIN_KEY}`)).toEqual({
      ok: false,
      status: 429,
      message: 'too many failed authentications from this address; retry in 40 s',
      retryAfterSeconds: 40,
    });
    expect(authenticateBearer(registry, limiter, '10.0.0.2', `Bearer ${ADMIN_KEY}`).ok).toBe(true);
  });

  it('is not blocked by wrong secrets counted on the drop-in', () => {
    const limiter = new AuthFailureLimiter();
    for (let i = 0; i < 20; i++) limiter.fail('drop-in', IP);

    expect(authenticateBearer(registry, limiter, IP, `Bearer ${ADMIN_KEY}`).ok).toBe(true);
  });

  it('refuses every key when none is configured', () => {
    const none = new ClientRegistry({ adminKeys: [], clients: [] });

    expect(
      authenticateBearer(none, new AuthFailureLimiter(), IP, `Bearer ${ADMIN_KEY}`, 'the gateway'),
    ).toEqual({
      ok: false,
      status: 401,
      message: 'the gateway is disabled: no ADMIN_API_KEYS or clients are configured',
    });
  });
});
