import { Global, Logger, Module } from '@nestjs/common';
import {
  ThrottlerStorageService,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { MetricsService } from '../metrics/metrics.service';
import { OPS_REDIS } from '../store/redis.constants';
import { OpsRedisModule } from '../store/ops-redis.module';
import { RateLimiter } from './rate-limiter';
import { RedisThrottlerStorage } from './redis-throttler-storage';
import { routeLimit, RouteThrottler } from './route-throttler.guard';
import {
  LIMITED_ROUTES,
  THROTTLE_LIMIT_FIELDS,
  WXHUB_THROTTLER_OPTIONS,
  WXHUB_THROTTLER_STORAGE,
} from './throttle.constants';

/**
 * Rate limits (THROTTLE_*) on forced refreshes, invalid-token reports, account reloads, audit reads and failed
 * authentications, counted in Redis across the fleet (in memory without Redis). Global: the admin guard runs
 * RouteThrottler, the drop-ins and the authenticator use RateLimiter.
 */
@Global()
@Module({
  imports: [OpsRedisModule],
  providers: [
    {
      provide: WXHUB_THROTTLER_STORAGE,
      inject: [WXHUB_CONFIG, OPS_REDIS, { token: MetricsService, optional: true }],
      useFactory: (config: WxhubConfig, redis: Redis | null, metrics?: MetricsService): ThrottlerStorage => {
        const logger = new Logger('RateLimits');
        const { windowSeconds, ...limits } = config.throttle;
        const summary = Object.entries(limits)
          .map(([name, limit]) => `${name} ${limit || 'off'}`)
          .join(', ');
        if (!redis) {
          logger.log(`rate limits per ${windowSeconds} s, counted in memory: ${summary}`);
          return new ThrottlerStorageService();
        }
        logger.log(`rate limits per ${windowSeconds} s, shared through Redis: ${summary}`);
        const failures = metrics
          ? new Counter({
              name: 'wxhub_throttle_store_failures_total',
              help: 'Rate-limit checks counted in memory because Redis failed (nobody is blocked by it)',
              registers: [metrics.registry],
            })
          : undefined;
        return new RedisThrottlerStorage(redis, config.keyPrefix, new ThrottlerStorageService(), () =>
          failures?.inc(),
        );
      },
    },
    {
      provide: WXHUB_THROTTLER_OPTIONS,
      inject: [WXHUB_CONFIG],
      useFactory: (config: WxhubConfig): ThrottlerModuleOptions => {
        const windowMs = config.throttle.windowSeconds * 1000;
        return {
          setHeaders: false,
          throttlers: [...new Set(LIMITED_ROUTES.values())].map((name) => {
            const limit = config.throttle[THROTTLE_LIMIT_FIELDS[name]];
            return {
              name,
              limit,
              ttl: windowMs,
              blockDuration: windowMs,
              skipIf: (context) => limit === 0 || routeLimit(context) !== name,
            };
          }),
        };
      },
    },
    RouteThrottler,
    RateLimiter,
  ],
  exports: [RouteThrottler, RateLimiter, WXHUB_THROTTLER_STORAGE],
})
export class ThrottleModule {}
