import { Logger } from '@nestjs/common';
import type { ClusterModuleOptions, RedisModuleOptions } from '@liaoliaots/nestjs-redis';
import type { RedisConnection } from '../config/redis-topology';

const COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 3000;

/**
 * nestjs-redis options for one of wxhub's connections. A paused or unreachable Redis must not hang the hot paths:
 * commands fail after a second and callers fall back (the token plane serves its in-process copy).
 */
export function redisModuleOptions(
  redis: RedisConnection | null | undefined,
  namespace: string,
): RedisModuleOptions {
  if (!redis || redis.kind === 'cluster') return { config: [] };
  const logger = new Logger('Redis');
  let lastLogged = 0;
  const common = {
    namespace,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
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
    closeClient: false,
    config:
      redis.kind === 'url'
        ? { ...common, url: redis.url }
        : {
            ...common,
            ...sentinelOptions(redis),
          },
  };
}

/** nestjs-redis ClusterModule options for a Redis Cluster connection; `config: []` in the other modes. */
export function clusterModuleOptions(
  redis: RedisConnection | null | undefined,
  namespace: string,
): ClusterModuleOptions {
  if (redis?.kind !== 'cluster') return { config: [] };
  const logger = new Logger('Redis');
  let lastLogged = 0;
  return {
    readyLog: false,
    errorLog: false,
    closeClient: false,
    config: {
      namespace,
      nodes: redis.nodes,
      redisOptions: {
        commandTimeout: COMMAND_TIMEOUT_MS,
        connectTimeout: CONNECT_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        ...auth(redis),
      },
      // NOTE: the cluster-level offline queue has no command timeout: while the whole cluster is unreachable a
      // queued command would wait forever instead of failing over to the in-process copy. A command to one node
      // that is reconnecting still gets the node's own 1 s timeout, and redirections are retried below.
      enableOfflineQueue: false,
      // MOVED/ASK are followed at once; a node reconnecting, CLUSTERDOWN and TRYAGAIN are retried every 200 ms,
      // and 6 tries keep a command that was never sent (so has no command timeout) within about a second too
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      maxRedirections: 6,
      slotsRefreshTimeout: 2000,
      clusterRetryStrategy: (times: number) => Math.min(times * 200, 2000),
      onClientCreated: (client) => {
        client.on('error', (error: Error) => {
          if (Date.now() - lastLogged < 10_000) return;
          lastLogged = Date.now();
          logger.warn(`Redis cluster connection problem (${namespace}): ${error.message}`);
        });
      },
    },
  };
}

function auth(redis: { username?: string; password?: string; tls?: boolean }): {
  username?: string;
  password?: string;
  tls?: object;
} {
  return {
    ...(redis.username ? { username: redis.username } : {}),
    ...(redis.password ? { password: redis.password } : {}),
    ...(redis.tls ? { tls: {} } : {}),
  };
}

function sentinelOptions(redis: Extract<RedisConnection, { kind: 'sentinel' }>): object {
  return {
    sentinels: redis.sentinels,
    name: redis.name,
    ...auth(redis),
    ...(redis.sentinelPassword ? { sentinelPassword: redis.sentinelPassword } : {}),
    ...(redis.tls ? { enableTLSForSentinelMode: true } : {}),
    sentinelCommandTimeout: COMMAND_TIMEOUT_MS,
    // the sentinels announce a failover (+switch-master): reconnect to the new master at once instead of
    // waiting for the old one to drop us
    failoverDetector: true,
    // a demoted master answers writes with READONLY until it drops its clients: reconnect (ioredis asks the
    // sentinels for the current master) and resend the command
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
}
