import { Inject } from '@nestjs/common';

/** The ioredis client of the audit log and the rate limits, or null without Redis (OpsRedisModule). */
export const OPS_REDIS = Symbol('OPS_REDIS');
export const InjectOpsRedis = (): ParameterDecorator => Inject(OPS_REDIS);

/** Name of the connection, shown in its connection warnings. */
export const OPS_REDIS_NAMESPACE = 'wxhub-ops';
