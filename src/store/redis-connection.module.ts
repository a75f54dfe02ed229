import { once } from 'node:events';
import {
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { optionsModule, type AsyncModuleOptions } from '../common/options-module';
import type { RedisConnection } from '../config/redis-topology';
import { createRedisClient } from './redis-options';
import { isCluster, type RedisClient } from './redis.constants';

/** How long the boot waits for a Redis Cluster to report its slots before going on degraded. */
const CLUSTER_READY_TIMEOUT_MS = 5000;
const CLIENT = Symbol('REDIS_CONNECTION_CLIENT');

/** Options of {@link RedisConnectionModule.forRootAsync}. */
export interface RedisConnectionModuleOptions extends AsyncModuleOptions<RedisConnection | null | undefined> {
  /** The token under which the client (`RedisClient | null`) is provided and exported. */
  provide: symbol;
  /** The connection's name, shown in its connection warnings. */
  namespace: string;
  /**
   * Sends the commands issued in one event-loop turn in one write (ioredis `enableAutoPipelining`): for a
   * connection many requests use at once (callback de-duplication), it saves a write per command.
   */
  autoPipelining?: boolean;
}

/**
 * One ioredis client made from a {@link RedisConnection}, whatever the topology (`Redis` for REDIS_URL and
 * Sentinel, `Cluster` for Redis Cluster); the importer gets a `RedisClient | null` (null: no Redis configured)
 * under its own token. The client is closed at shutdown, after every `onModuleDestroy` (which may still release
 * locks through it).
 *
 * @example
 * RedisConnectionModule.forRootAsync({
 *   provide: AUDIT_REDIS, namespace: 'wxhub-audit',
 *   imports: [WxhubConfigModule], inject: [WXHUB_CONFIG], useFactory: (config: WxhubConfig) => config.redis,
 * })
 */
@Module({})
export class RedisConnectionModule implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnectionModule.name);

  constructor(@Inject(CLIENT) private readonly client: RedisClient | null) {}

  static forRootAsync(options: RedisConnectionModuleOptions): DynamicModule {
    const connectionToken = Symbol(`${options.namespace} connection`);
    const connection = optionsModule<{ redis: RedisConnection | null }>(connectionToken, {
      imports: options.imports,
      inject: options.inject,
      useFactory: async (...args: never[]) => ({ redis: (await options.useFactory(...args)) ?? null }),
    });
    const clientProvider: Provider = {
      provide: CLIENT,
      useFactory: async ({ redis }: { redis: RedisConnection | null }): Promise<RedisClient | null> => {
        const client = createRedisClient(redis, options.namespace, {
          autoPipelining: options.autoPipelining,
        });
        if (client) await clusterReady(client, options.namespace);
        return client;
      },
      inject: [connectionToken],
    };
    return {
      module: RedisConnectionModule,
      imports: [connection],
      providers: [clientProvider, { provide: options.provide, useExisting: CLIENT }],
      exports: [options.provide],
    };
  }

  // each connection closes its own client, after the modules that may still use it
  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'end') return;
    if (client.status !== 'ready') {
      client.disconnect();
      return;
    }
    await client.quit().catch((error: Error) => {
      this.logger.warn(`closing a Redis connection: ${error.message}`);
      client.disconnect();
    });
  }
}

/**
 * A cluster client refuses commands until it knows the slots (its offline queue is off, see redis-options.ts):
 * wait for that at boot, within bounds, so the first token reads do not fail for nothing.
 */
async function clusterReady(client: RedisClient, namespace: string): Promise<void> {
  if (!isCluster(client) || client.status === 'ready') return;
  const timeout = AbortSignal.timeout(CLUSTER_READY_TIMEOUT_MS);
  try {
    await once(client, 'ready', { signal: timeout });
  } catch {
    new Logger(RedisConnectionModule.name).warn(
      `Redis Cluster (${namespace}) not ready after ${CLUSTER_READY_TIMEOUT_MS} ms; starting degraded, it keeps retrying`,
    );
  }
}
