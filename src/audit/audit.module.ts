import { Global, Logger, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { OPS_REDIS } from '../store/redis.constants';
import { OpsRedisModule } from '../store/ops-redis.module';
import { AuditLog } from './audit-log.service';
import { AuditStore } from './audit-store';
import { MemoryAuditStore } from './memory-audit-store';
import { RedisAuditStore } from './redis-audit-store';

/**
 * The audit log (AuditLog), stored in a capped Redis stream `<REDIS_KEY_PREFIX>:audit` when Redis is configured and
 * in memory otherwise; AUDIT_MAX_ENTRIES caps it. Global: the token plane, the API client, the gateway and the admin
 * routes record into it when it is present and skip it when it is not.
 */
@Global()
@Module({
  imports: [OpsRedisModule],
  providers: [
    {
      provide: AuditStore,
      inject: [WXHUB_CONFIG, OPS_REDIS],
      useFactory: (config: WxhubConfig, redis: Redis | null): AuditStore => {
        const logger = new Logger('AuditLog');
        if (!redis) {
          logger.log(`audit log in memory (this instance only), last ${config.audit.maxEntries} entries`);
          return new MemoryAuditStore(config.audit.maxEntries);
        }
        const store = new RedisAuditStore(
          redis,
          config.keyPrefix,
          config.audit.maxEntries,
          `redis stream ${config.keyPrefix}:audit`,
        );
        logger.log(`audit log: ${store.description}, last ~${config.audit.maxEntries} entries`);
        return store;
      },
    },
    AuditLog,
  ],
  exports: [AuditLog],
})
export class AuditModule {}
