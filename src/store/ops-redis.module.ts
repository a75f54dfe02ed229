import { Module } from '@nestjs/common';
import { WxhubConfigModule, WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { RedisConnectionModule } from './redis-connection.module';
import { OPS_REDIS, OPS_REDIS_NAMESPACE } from './redis.constants';

const connection = RedisConnectionModule.forRootAsync({
  provide: OPS_REDIS,
  namespace: OPS_REDIS_NAMESPACE,
  imports: [WxhubConfigModule],
  inject: [WXHUB_CONFIG],
  useFactory: (config: WxhubConfig) => config.redis,
});

/**
 * One Redis connection for the audit log and the rate limits, built like the token plane's (same REDIS_* settings
 * and topology — URL, Sentinel or Cluster —, same 1 s command timeout, same rate-limited error log) and provided as
 * OPS_REDIS (null without Redis).
 *
 * NOTE: not the token plane's connection: the admin traffic counted here then never queues in front of token reads.
 */
@Module({
  imports: [connection],
  exports: [connection],
})
export class OpsRedisModule {}
