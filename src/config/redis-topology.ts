import type { EnvironmentVariables } from './environment-variables';
import { redisUrlProblems } from '../store/redis-url';

/** Credentials and TLS of the Redis data nodes in Sentinel and Cluster modes (URL mode carries its own). */
export interface RedisAuth {
  username?: string;
  password?: string;
  /** TLS to the data nodes (and, in Sentinel mode, to the sentinels). */
  tls?: boolean;
}

/**
 * Where the shared state lives: one server (`url`, credentials and TLS in the URL), a Sentinel-managed master,
 * or a Redis Cluster (seed nodes; the rest is discovered).
 */
export type RedisConnection =
  | { kind: 'url'; url: string }
  | ({
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      /** `requirepass` of the sentinels themselves, when they have one. */
      sentinelPassword?: string;
    } & RedisAuth)
  | ({ kind: 'cluster'; nodes: { host: string; port: number }[] } & RedisAuth);

function hostPorts(text: string, variable: string, problems: string[]): { host: string; port: number }[] {
  return text.split(',').map((part) => {
    const [host = '', port = ''] = part.trim().split(':');
    if (Number(port) < 1 || Number(port) > 65535) problems.push(`${variable}: port ${port} is out of range`);
    return { host, port: Number(port) };
  });
}

/**
 * REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, with the credentials that apply to that mode; a mix of modes
 * is refused by name. Problems are added to `problems` (null is returned for no Redis or an unusable mix).
 */
export function parseRedisConnection(env: EnvironmentVariables, problems: string[]): RedisConnection | null {
  const modes = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => env[name],
  );
  if (modes.length > 1) {
    problems.push(
      `set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got ${modes.join(' and ')})`,
    );
    return null;
  }
  if (env.REDIS_SENTINEL_NAME && !env.REDIS_SENTINELS)
    problems.push('REDIS_SENTINEL_NAME is only used with REDIS_SENTINELS');
  if (env.REDIS_SENTINEL_PASSWORD && !env.REDIS_SENTINELS)
    problems.push('REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS');
  const auth: RedisAuth = {};
  if (env.REDIS_USERNAME) auth.username = env.REDIS_USERNAME;
  if (env.REDIS_PASSWORD) auth.password = env.REDIS_PASSWORD;
  if (env.REDIS_TLS === 'true') auth.tls = true;
  const authVariables = [
    ...(auth.username ? ['REDIS_USERNAME'] : []),
    ...(auth.password ? ['REDIS_PASSWORD'] : []),
    ...(auth.tls ? ['REDIS_TLS'] : []),
  ];
  if (env.REDIS_URL) {
    // NOTE: one place for URL-mode credentials, so a stale REDIS_PASSWORD cannot silently win over the URL's
    for (const name of authVariables) {
      problems.push(
        `${name} applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put credentials in the URL (redis://user:password@host:port) and use rediss:// for TLS`,
      );
    }
    problems.push(...redisUrlProblems(env.REDIS_URL));
    return { kind: 'url', url: env.REDIS_URL };
  }
  if (env.REDIS_SENTINELS) {
    if (!env.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS');
    return {
      kind: 'sentinel',
      sentinels: hostPorts(env.REDIS_SENTINELS, 'REDIS_SENTINELS', problems),
      name: env.REDIS_SENTINEL_NAME ?? '',
      ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
      ...auth,
    };
  }
  if (env.REDIS_CLUSTER_NODES) {
    return {
      kind: 'cluster',
      nodes: hostPorts(env.REDIS_CLUSTER_NODES, 'REDIS_CLUSTER_NODES', problems),
      ...auth,
    };
  }
  for (const name of authVariables)
    problems.push(`${name} is set but no Redis is (REDIS_SENTINELS or REDIS_CLUSTER_NODES)`);
  return null;
}
