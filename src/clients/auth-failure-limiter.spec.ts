import { ThrottlerStorageService } from '@nestjs/throttler';
import { loadWxhubConfig } from '../config/wxhub-config';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimiter } from '../throttle/rate-limiter';
import { AuthFailureLimiter } from './auth-failure-limiter';

const settle = (): Promise<void> =>
  new Promise((resolve) => jest.requireActual('timers').setImmediate(resolve));
const IP = '10.0.0.1';

describe('AuthFailureLimiter', () => {
  let storage: ThrottlerStorageService;

  beforeEach(() =>
    jest.useFakeTimers({ now: new Date('2026-12-07T12:00:00Z'), doNotFake: ['setImmediate'] }),
  );
  afterEach(() => {
    storage?.onApplicationShutdown();
    jest.useRealTimers();
  });

  // one storage stands for the shared Redis of the fleet (its Redis behaviour is covered in the e2e store tests)
  function fleet(limit: number, metrics?: MetricsService): AuthFailureLimiter[] {
    const config = loadWxhubConfig({
      THROTTLE_FAILED_AUTH_LIMIT: String(limit),
      THROTTLE_WINDOW_SECONDS: '60',
    });
    storage = new ThrottlerStorageService();
    const shared = new RateLimiter(storage, config);
    return [new AuthFailureLimiter(shared, metrics), new AuthFailureLimiter(shared, metrics)];
  }

  it('wrong secrets on the public drop-in never lock the admin API out from the same address', () => {
    const limiter = new AuthFailureLimiter();
    for (let i = 0; i < 20; i++) limiter.fail('drop-in', IP);

    expect(limiter.check('drop-in', IP)).toEqual({ blocked: true, retryAfterSeconds: 60 });
    expect(limiter.check('api', IP)).toEqual({ blocked: false });
  });

  it('wrong keys on the API never stop the drop-in from the same address', () => {
    const [limiter] = fleet(3);
    for (let i = 0; i < 3; i++) limiter!.fail('api', IP);

    expect(limiter!.check('api', IP).blocked).toBe(true);
    expect(limiter!.check('drop-in', IP).blocked).toBe(false);
    expect(limiter!.check('api', '10.0.0.2').blocked).toBe(false);
  });

  it('a block carries the seconds left until it ends (Retry-After), then ends with the window', () => {
    const limiter = new AuthFailureLimiter();
    limiter.fail('api', IP);
    jest.advanceTimersByTime(15_000);
    for (let i = 0; i < 19; i++) limiter.fail('api', IP);

    expect(limiter.check('api', IP)).toEqual({ blocked: true, retryAfterSeconds: 45 });
    jest.advanceTimersByTime(44_500);
    expect(limiter.check('api', IP)).toEqual({ blocked: true, retryAfterSeconds: 1 });
    jest.advanceTimersByTime(500);
    expect(limiter.check('api', IP)).toEqual({ blocked: false });
  });

  it('counts the failures of every instance per surface: the one reaching the limit blocks, the other at its next failure', async () => {
    const [a, b] = fleet(4);
    a!.fail('drop-in', IP);
    b!.fail('drop-in', IP);
    a!.fail('drop-in', IP);
    a!.fail('api', IP);
    await settle();
    b!.fail('drop-in', IP);
    await settle();

    expect(b!.check('drop-in', IP)).toEqual({ blocked: true, retryAfterSeconds: 60 });
    expect(a!.check('drop-in', IP).blocked).toBe(false);
    expect(b!.check('api', IP).blocked).toBe(false);

    a!.fail('drop-in', IP);
    await settle();

    expect(a!.check('drop-in', IP).blocked).toBe(true);
  });

  it('counts a refused call in wxhub_throttled_total{limit="failed-auth"}; peek does not', async () => {
    const metrics = new MetricsService();
    const [limiter] = fleet(1, metrics);
    limiter!.fail('api', IP);
    const refused = async (): Promise<number> =>
      (await metrics.registry.getSingleMetric('wxhub_throttled_total')!.get()).values.find(
        (v) => v.labels.limit === 'failed-auth',
      )?.value ?? 0;

    expect(limiter!.peek('api', IP).blocked).toBe(true);
    expect(await refused()).toBe(0);
    expect(limiter!.check('api', IP).blocked).toBe(true);
    expect(await refused()).toBe(1);
  });

  it('blocks at the limit-th failure on this instance at once, before the shared count answers (limit 1 too)', () => {
    const [limiter] = fleet(1);
    limiter!.fail('drop-in', IP);

    expect(limiter!.check('drop-in', IP)).toEqual({ blocked: true, retryAfterSeconds: 60 });
  });

  it('without the shared limiter it keeps the in-process limit of 20 a minute', () => {
    const limiter = new AuthFailureLimiter();
    for (let i = 0; i < 19; i++) limiter.fail('api', IP);
    expect(limiter.check('api', IP).blocked).toBe(false);
    limiter.fail('api', IP);
    expect(limiter.check('api', IP).blocked).toBe(true);
  });
});
