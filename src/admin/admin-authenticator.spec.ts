import { ForbiddenException } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { AuthFailureLimiter } from '../clients/auth-failure-limiter';
import { ClientRegistry } from '../clients/client-registry';
import { AuthenticationFailedError } from '../clients/errors/authentication-failed.error';
import { loadWxhubConfig } from '../config/wxhub-config';
import { RateLimiter } from '../throttle/rate-limiter';
import { AdminAuthenticator, apiKeyId } from './admin-authenticator';

const KEY = 'admin-authenticator-key-000000001';
const OTHER_KEY = 'admin-authenticator-key-000000002';
const WRONG = 'admin-authenticator-key-000000003';
const CLIENT_KEY = 'admin-authenticator-client-key-01';
const APP = { appId: 'wx1234567890abcdef', appSecret: 'abcdef0123456789abcdef0123456789' };

function authenticator(env: Record<string, string> = {}): {
  auth: AdminAuthenticator;
  limiter: AuthFailureLimiter;
} {
  const config = loadWxhubConfig({
    ADMIN_API_KEYS: `${KEY},${OTHER_KEY}`,
    WECHAT_ACCOUNTS: JSON.stringify([APP]),
    WECHAT_CLIENTS: JSON.stringify([
      { name: 'reader', key: CLIENT_KEY, scopes: ['read'], appIds: [APP.appId] },
    ]),
    ...env,
  });
  // the limit is counted locally at once; the shared count (here in memory) only adds to it
  const limiter = new AuthFailureLimiter(new RateLimiter(new ThrottlerStorageService(), config));
  const registry = new ClientRegistry({ adminKeys: config.admin.apiKeys, clients: config.clients });
  return { auth: new AdminAuthenticator(config, registry, limiter), limiter };
}

function errorOf(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

describe('AdminAuthenticator', () => {
  it('names the admin key or the client a key belongs to, by fingerprint and name', () => {
    const { auth } = authenticator();
    expect(auth.authenticate('10.0.0.1', `Bearer ${KEY}`)).toMatchObject({
      kind: 'admin',
      actorId: apiKeyId(KEY),
    });
    // recognised only once resolved (a map lookup on the hot path, no digest)
    expect(auth.recognise('10.0.0.2', `Bearer ${OTHER_KEY}`)).toBeUndefined();
    auth.authenticate('10.0.0.2', `Bearer ${OTHER_KEY}`);
    expect(auth.recognise('10.0.0.2', `Bearer ${OTHER_KEY}`)?.keyId).toBe(apiKeyId(OTHER_KEY));
    expect(auth.authenticate('10.0.0.1', `Bearer ${CLIENT_KEY}`)).toMatchObject({
      kind: 'client',
      name: 'reader',
      keyId: apiKeyId(CLIENT_KEY),
      actorId: 'client:reader',
    });
  });

  it('counts each wrong key until the address is blocked, then answers 429 with the seconds to wait', () => {
    const { auth, limiter } = authenticator({ THROTTLE_FAILED_AUTH_LIMIT: '3' });
    for (let attempt = 0; attempt < 3; attempt++) {
      const refusal = errorOf(() => auth.authenticate('10.0.0.9', `Bearer ${WRONG}`));
      expect(refusal).toBeInstanceOf(AuthenticationFailedError);
      expect((refusal as AuthenticationFailedError).httpStatus).toBe(401);
      expect((refusal as Error).message).not.toContain(WRONG);
    }
    expect(limiter.peek('api', '10.0.0.9').blocked).toBe(true);
    // a blocked address is refused even with a right key, and recognise() says so without counting
    auth.authenticate('10.0.0.1', `Bearer ${KEY}`);
    expect(auth.recognise('10.0.0.9', `Bearer ${KEY}`)).toBeUndefined();
    const refusal = errorOf(() =>
      auth.authenticate('10.0.0.9', `Bearer ${KEY}`),
    ) as AuthenticationFailedError;
    expect(refusal.httpStatus).toBe(429);
    expect(refusal.retryAfterMs).toBeGreaterThan(0);
    expect(auth.authenticate('10.0.0.1', `Bearer ${KEY}`).kind).toBe('admin');
  });

  it('keeps the drop-in surface apart: wrong drop-in secrets never block the admin API', () => {
    const { auth, limiter } = authenticator({ THROTTLE_FAILED_AUTH_LIMIT: '2' });
    limiter.fail('drop-in', '10.0.0.7');
    limiter.fail('drop-in', '10.0.0.7');
    expect(limiter.peek('drop-in', '10.0.0.7').blocked).toBe(true);
    expect(auth.authenticate('10.0.0.7', `Bearer ${KEY}`).kind).toBe('admin');
  });

  it('has no side effect when it does not recognise a header: nothing counted, nothing thrown', () => {
    const { auth, limiter } = authenticator({ THROTTLE_FAILED_AUTH_LIMIT: '1' });
    for (const header of [undefined, '', 'Bearer', `Bearer ${WRONG}`, `Basic ${KEY}`]) {
      expect(auth.recognise('10.0.0.5', header)).toBeUndefined();
    }
    expect(limiter.peek('api', '10.0.0.5').blocked).toBe(false);
    // a request without any key is a 401 but no guess
    expect(
      (errorOf(() => auth.authenticate('10.0.0.5', undefined)) as AuthenticationFailedError).httpStatus,
    ).toBe(401);
    expect(limiter.peek('api', '10.0.0.5').blocked).toBe(false);
  });

  it('applies the allow-list to every request', () => {
    const { auth } = authenticator({ ADMIN_ALLOWED_IPS: '10.1.0.0/16' });
    expect(auth.authenticate('10.1.2.3', `Bearer ${KEY}`).kind).toBe('admin');
    expect(auth.recognise('192.0.2.7', `Bearer ${KEY}`)).toBeUndefined();
    expect(errorOf(() => auth.authenticate('192.0.2.7', `Bearer ${KEY}`))).toBeInstanceOf(ForbiddenException);
  });
});
