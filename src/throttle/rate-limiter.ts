import { Injectable, Optional } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Counter } from 'prom-client';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { MetricsService } from '../metrics/metrics.service';
import { InjectWxhubThrottlerStorage, THROTTLE_LIMIT_FIELDS, type ThrottleName } from './throttle.constants';

/** One counted call. */
export interface RateLimitHit {
  allowed: boolean;
  /** Calls in the current window, this one included. */
  hits: number;
  limit: number;
  /** Seconds until the client may call again (0 while allowed). */
  retryAfterSeconds: number;
}

/**
 * Counts calls against the named limits (THROTTLE_*), on the same shared storage as the guarded admin routes. For
 * the places that answer a refusal in their own shape: the WeChat-shaped drop-ins and the failed-authentication
 * limiter.
 */
@Injectable()
export class RateLimiter {
  private readonly windowMs: number;
  private readonly refused: Counter<'limit'> | undefined;

  constructor(
    @InjectWxhubThrottlerStorage() private readonly storage: ThrottlerStorage,
    @InjectWxhubConfig() private readonly config: WxhubConfig,
    @Optional() metrics?: MetricsService,
  ) {
    this.windowMs = config.throttle.windowSeconds * 1000;
    this.refused = metrics ? throttledCounter(metrics) : undefined;
  }

  /** The limit of `name` per window (0 = none). */
  limitOf(name: ThrottleName): number {
    return this.config.throttle[THROTTLE_LIMIT_FIELDS[name]];
  }

  get windowSeconds(): number {
    return this.config.throttle.windowSeconds;
  }

  /** Counts one call of `client` against `name`. */
  async hit(name: ThrottleName, client: string): Promise<RateLimitHit> {
    const limit = this.limitOf(name);
    if (limit === 0) return { allowed: true, hits: 0, limit, retryAfterSeconds: 0 };
    const record = await this.storage.increment(
      `${name}:${client}`,
      this.windowMs,
      limit,
      this.windowMs,
      name,
    );
    // a failed authentication is answered 401 whatever its count: AuthFailureLimiter counts its own refusals
    if (record.isBlocked && name !== 'failed-auth') this.refused?.labels(name).inc();
    return {
      allowed: !record.isBlocked,
      hits: record.totalHits,
      limit,
      retryAfterSeconds: record.isBlocked ? Math.max(1, record.timeToBlockExpire) : 0,
    };
  }
}

const counters = new WeakMap<MetricsService, Counter<'limit'>>();

/** `wxhub_throttled_total{limit}`, one per metrics registry. */
export function throttledCounter(metrics: MetricsService): Counter<'limit'> {
  let counter = counters.get(metrics);
  if (!counter) {
    counter = new Counter({
      name: 'wxhub_throttled_total',
      help: 'Calls refused by a rate limit (THROTTLE_*), by limit',
      labelNames: ['limit'] as const,
      registers: [metrics.registry],
    });
    counters.set(metrics, counter);
  }
  return counter;
}
