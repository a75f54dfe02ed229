import { ForbiddenException, HttpException, UnauthorizedException } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { loadWxhubConfig } from '../config/wxhub-config';
import { RateLimiter } from '../throttle/rate-limiter';
import { AdminAuthenticator, apiKeyId } from './admin-authenticator';
import { FailedAuthLimiter } from './failed-auth-limiter';

const KEY = 'admin-authenticator-key-000000001';
const OTHER_KEY = 'admin-authenticator-key-000000002';
const WRONG = 'admin-authenticator-key-000000003';

function authenticator(env: Record<string, string> = {}): {
  auth: AdminAuthenticator;
  limiter: FailedAuthLimiter;
} {
  const config = loadWxhubConfig({ ADMIN_API_KEYS: `${KEY},${OTHER_KEY}`, ...env });
  // the limit is counted locally at once; the shared count (here in memory) only adds to it
  const limiter = new FailedAuthLimiter(new RateLimiter(new ThrottlerStorageService(), config));
  return { auth: new AdminAuthenticator(config, limiter), limiter };
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
  it('recognises a header only once authenticate() has accepted it, and names the key it carries', () => {
    const { auth } = authenticator();
    expect(auth.recognise('10.0.0.1', `Bearer ${KEY}`)).toBeUndefined();

    expect(auth.authenticate('10.0.0.1', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));

    expect(auth.recognise('10.0.0.1', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));
    expect(auth.recognise('10.0.0.2', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));
    expect(auth.authenticate('10.0.0.3', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));
    expect(auth.recognise('10.0.0.1', `Bearer ${OTHER_KEY}`)).toBeUndefined();
    expect(auth.authenticate('10.0.0.1', `Bearer ${OTHER_KEY}`)).toBe(apiKeyId(OTHER_KEY));
    expect(auth.recognise('10.0.0.1', `Bearer ${OTHER_KEY}`)).toBe(apiKeyId(OTHER_KEY));
  });

  it('never remembers a wrong key: each attempt is refused and counted, until the address is blocked', () => {
    const { auth, limiter } = authenticator({ THROTTLE_FAILED_AUTH_LIMIT: '3' });
    auth.authenticate('10.0.0.1', `Bearer ${KEY}`);

    for (let attempt = 0; attempt < 2; attempt++) {
      expect(errorOf(() => auth.authenticate('10.0.0.9', `Bearer ${WRONG}`))).toBeInstanceOf(
        UnauthorizedException,
      );
      expect(auth.recognise('10.0.0.9', `Bearer ${WRONG}`)).toBeUndefined();
    }
    expect(limiter.isBlocked('10.0.0.9')).toBe(false);
    expect(errorOf(() => auth.authenticate('10.0.0.9', `Bearer ${WRONG}`))).toBeInstanceOf(
      UnauthorizedException,
    );
    expect(limiter.isBlocked('10.0.0.9')).toBe(true);

    // a blocked address is refused even with a key remembered for another address
    expect(auth.recognise('10.0.0.9', `Bearer ${KEY}`)).toBeUndefined();
    const refusal = errorOf(() => auth.authenticate('10.0.0.9', `Bearer ${KEY}`));
    expect(refusal).toBeInstanceOf(HttpException);
    expect((refusal as HttpException).getStatus()).toBe(429);
    expect(auth.recognise('10.0.0.1', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));
  });

  it('has no side effect when it does not recognise a header: nothing counted, nothing thrown', () => {
    const { auth, limiter } = authenticator({ THROTTLE_FAILED_AUTH_LIMIT: '1' });
    for (const header of [undefined, '', 'Bearer', `Bearer ${WRONG}`, `Basic ${KEY}`]) {
      expect(auth.recognise('10.0.0.5', header)).toBeUndefined();
    }
    expect(limiter.isBlocked('10.0.0.5')).toBe(false);
    expect(auth.authenticate('10.0.0.5', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));
  });

  it('applies the allow-list to every request, remembered header or not', () => {
    const { auth } = authenticator({ ADMIN_ALLOWED_IPS: '10.1.0.0/16' });
    expect(auth.authenticate('10.1.2.3', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));

    expect(auth.recognise('10.1.2.3', `Bearer ${KEY}`)).toBe(apiKeyId(KEY));
    expect(auth.recognise('192.0.2.7', `Bearer ${KEY}`)).toBeUndefined();
    expect(errorOf(() => auth.authenticate('192.0.2.7', `Bearer ${KEY}`))).toBeInstanceOf(ForbiddenException);
  });

  it('keeps a bounded number of accepted headers', () => {
    const { auth } = authenticator();
    // the same key written 100 ways (spaces after "Bearer", letter case of the scheme)
    const variants = Array.from(
      { length: 100 },
      (_, i) => `${i % 2 ? 'bearer' : 'Bearer'}${' '.repeat(1 + (i >> 1))}${KEY}`,
    );
    for (const header of variants) expect(auth.authenticate('10.0.0.1', header)).toBe(apiKeyId(KEY));

    const remembered = variants.filter((header) => auth.recognise('10.0.0.1', header) !== undefined);
    expect(remembered.length).toBeGreaterThan(0);
    expect(remembered.length).toBeLessThanOrEqual(64);
    // forgotten ones still pass, through the digests
    for (const header of variants) expect(auth.authenticate('10.0.0.1', header)).toBe(apiKeyId(KEY));
  });
});
