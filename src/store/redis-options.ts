import { Logger } from '@nestjs/common';
import type { RedisModuleOptions } from '@liaoliaots/nestjs-redis';
import type { RedisConnection } from '../config/wxhub-config';

/**
 * nestjs-redis options for one of wxhub's connections. A paused or unreachable Redis must not hang the hot paths:
 * commands fail after a second and callers fall back (the token plane serves its in-process copy).
 */
export function redisModuleOptions(
  redis: RedisConnection | null | undefined,
  namespace: string,
): RedisModuleOptions {
  if (!redis) return { config: [] };
  if (redis.kind === 'cluster') throw new Error('Redis Cluster is not supported by this version');
  const logger = new Logger('Redis');
  let lastLogged = 0;
  const common = {
    namespace,
    commandTimeout: 1000,
    connectTimeout: 3000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    onClientCreated: (client: { on(event: 'error', listener: (error: Error) => void): unknown }) => {
      client.on('error', (error: Error) => {
        if (Date.now() - lastLogged < 10_000) return;
        lastLogged = Date.now();
        logger.warn(`Redis connection problem (${namespace}): ${error.message}`);
      });
    },
  };
  return {
    readyLog: false,
    errorLog: false,
    config:
      redis.kind === 'url'
        ? { ...common, url: redis.url }
        : { ...common, sentinels: redis.sentinels, name: redis.name },
  };
}
