import { Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { RedisService, type RedisModuleOptions } from '@liaoliaots/nestjs-redis';
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
    // closed by redisClientCloser instead: see there
    closeClient: false,
    config:
      redis.kind === 'url'
        ? { ...common, url: redis.url }
        : { ...common, sentinels: redis.sentinels, name: redis.name },
  };
}

/**
 * A provider for `RedisModule.forRootAsync({ extraProviders })` that quits the module's client (`namespace`) at
 * application shutdown, once.
 *
 * NOTE: nestjs-redis' own closing (`closeClient`) looks the clients up across the whole application, so with two
 * RedisModule instances (token plane, callback plane) both quit the first one found, the second quit fails with
 * "Connection is closed." logged at error level, and the other client is never quit. Injected here, RedisService
 * is the module's own.
 */
export function redisClientCloser(namespace: string): Provider {
  return {
    provide: Symbol(`wxhub redis closer (${namespace})`),
    inject: [RedisService],
    useFactory: (redis: RedisService): OnApplicationShutdown => ({
      async onApplicationShutdown(): Promise<void> {
        const client = redis.getOrNil(namespace);
        if (!client || client.status === 'end') return;
        if (client.status !== 'ready') {
          client.disconnect();
          return;
        }
        await client.quit().catch((error: Error) => {
          new Logger('Redis').debug(`closing the ${namespace} connection: ${error.message}`);
          client.disconnect();
        });
      },
    }),
  };
}
