import { Inject } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';

/** One ioredis client for any topology: `Redis` for REDIS_URL and Sentinel, `Cluster` for REDIS_CLUSTER_NODES. */
export type RedisClient = Redis | Cluster;

/**
 * The token plane's Redis client (`RedisClient | null`; null when no Redis is configured or a custom store is
 * used). TokenModule exports it, so any module of an app that imports TokenModule globally can share the
 * connection: `constructor(@InjectWxhubRedis() redis: RedisClient | null)`. Keep every key of an account under
 * its hash tag (`<prefix>:{<appId>}:…`) so that it works on Redis Cluster.
 */
export const WXHUB_REDIS = Symbol('WXHUB_REDIS');
export const InjectWxhubRedis = (): ParameterDecorator => Inject(WXHUB_REDIS);

/**
 * The second connection, for the audit log and the rate limits (`RedisClient | null`; null without Redis), made by
 * OpsRedisModule. Kept apart from WXHUB_REDIS so admin traffic never queues in front of token reads.
 */
export const OPS_REDIS = Symbol('OPS_REDIS');
export const InjectOpsRedis = (): ParameterDecorator => Inject(OPS_REDIS);

/** nestjs-redis namespace of the OPS_REDIS connection. */
export const OPS_REDIS_NAMESPACE = 'wxhub-ops';

/** True for a Redis Cluster client (commands of one call must then stay in one hash slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}
