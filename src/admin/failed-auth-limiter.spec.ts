import { ThrottlerStorageService } from '@nestjs/throttler';
import { loadWxhubConfig } from '../config/wxhub-config';
import { RateLimiter } from '../throttle/rate-limiter';
import { FailedAuthLimiter } from './failed-auth-limiter';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FailedAuthLimiter', () => {
  // one storage stands for the shared Redis of the fleet (its Redis behaviour is covered in the e2e store tests)
  function fleet(limit: number): FailedAuthLimiter[] {
    const config = loadWxhubConfig({ THROTTLE_FAILED_AUTH_LIMIT: String(limit) });
    const shared = new RateLimiter(new ThrottlerStorageService(), config);
    return [new FailedAuthLimiter(shared), new FailedAuthLimiter(shared)];
  }

  it('blocks an address on its own once it reaches the limit, other addresses untouched', async () => {
    const [limiter] = fleet(3);
    limiter!.fail('10.0.0.1');
    limiter!.fail('10.0.0.1');
    await settle();
    expect(limiter!.blocked('10.0.0.1')).toBe(false);

    limiter!.fail('10.0.0.1');

    expect(limiter!.blocked('10.0.0.1')).toBe(true);
    expect(limiter!.blocked('10.0.0.2')).toBe(false);
  });

  it('counts the failures of every instance: the one whose failure reaches the limit blocks, the other at its next failure', async () => {
    const [a, b] = fleet(4);
    a!.fail('10.0.0.1');
    b!.fail('10.0.0.1');
    a!.fail('10.0.0.1');
    await settle();
    b!.fail('10.0.0.1');
    await settle();

    expect(b!.blocked('10.0.0.1')).toBe(true);
    expect(a!.blocked('10.0.0.1')).toBe(false);

    a!.fail('10.0.0.1');
    await settle();

    expect(a!.blocked('10.0.0.1')).toBe(true);
  });

  it('without the shared limiter it keeps the in-process limit of 20 a minute', () => {
    const limiter = new FailedAuthLimiter();
    for (let i = 0; i < 19; i++) limiter.fail('10.0.0.1');
    expect(limiter.blocked('10.0.0.1')).toBe(false);
    limiter.fail('10.0.0.1');
    expect(limiter.blocked('10.0.0.1')).toBe(true);
  });
});
