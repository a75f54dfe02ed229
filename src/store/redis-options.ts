import { Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '../config/redis-topology';
import type { RedisClient } from './redis.constants';
import { checkedRedisUrl } from './redis-url';

const COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 3000;

/**
 * The ioredis client of one of wxhub's connections (`Redis` for a URL or Sentinel, `Cluster` for Redis Cluster),
 * or null when no Redis is configured. Warnings about the connection are logged at most every 10 s.
 */
export function createRedisClient(
  redis: RedisConnection | null | undefined,
  namespace: string,
  { autoPipelining = false }: { autoPipelining?: boolean } = {},
): RedisClient | null {
  if (!redis) return null;
  let lastLogged = 0;
  const logger = new Logger('Redis');
  const warn = (what: string) => (error: Error) => {
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn(`${what} (${namespace}): ${error.message}`);
  };
  if (redis.kind === 'cluster') {
    const { nodes, options } = clusterClientOptions(redis);
    return new Cluster(nodes, { ...options, enableAutoPipelining: autoPipelining }).on(
      'error',
      warn('Redis cluster connection problem'),
    );
  }
  const options = { ...redisClientOptions(redis), enableAutoPipelining: autoPipelining };
  const client = redis.kind === 'url' ? new Redis(checkedRedisUrl(redis.url), options) : new Redis(options);
  return client.on('error', warn('Redis connection problem'));
}

/**
 * ioredis options for a REDIS_URL or Sentinel connection. A paused or unreachable Redis must not hang the hot
 * paths: commands fail after a second and callers fall back (the token plane serves its in-process copy).
 */
export function redisClientOptions(redis: Exclude<RedisConnection, { kind: 'cluster' }>): RedisOptions {
  return {
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    ...(redis.kind === 'sentinel' ? sentinelOptions(redis) : {}),
  };
}

/** ioredis Cluster nodes and options for a Redis Cluster connection. */
export function clusterClientOptions(redis: Extract<RedisConnection, { kind: 'cluster' }>): {
  nodes: { host: string; port: number }[];
  options: ClusterOptions;
} {
  return {
    nodes: redis.nodes,
    options: {
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

function sentinelOptions(redis: Extract<RedisConnection, { kind: 'sentinel' }>): RedisOptions {
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
