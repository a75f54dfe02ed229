import { Module } from '@nestjs/common';
import { RedisModule, RedisService } from '@liaoliaots/nestjs-redis';
import { WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { redisModuleOptions } from '../store/redis-options';
import { OPS_REDIS, OPS_REDIS_NAMESPACE } from './ops-redis.constants';

/**
 * One Redis connection for the audit log and the rate limits, built like the token plane's (same REDIS_* settings,
 * same 1 s command timeout, same rate-limited error log) and provided as OPS_REDIS (null without Redis).
 *
 * NOTE: not the token plane's connection: TokenModule keeps its nestjs-redis module private (exporting its
 * RedisService from that global library module would shadow a host app's own), and the admin traffic counted
 * here then never queues in front of token reads.
 */
@Module({
  imports: [
    RedisModule.forRootAsync(
      {
        inject: [WXHUB_CONFIG],
        useFactory: (config: unknown) =>
          redisModuleOptions((config as WxhubConfig).redis, OPS_REDIS_NAMESPACE),
      },
      false,
    ),
  ],
  providers: [
    {
      provide: OPS_REDIS,
      inject: [WXHUB_CONFIG, RedisService],
      useFactory: (config: WxhubConfig, redis: RedisService) =>
        config.redis ? redis.getOrThrow(OPS_REDIS_NAMESPACE) : null,
    },
  ],
  exports: [OPS_REDIS],
})
export class OpsRedisModule {}
