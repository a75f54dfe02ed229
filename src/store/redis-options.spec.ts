import type { ClusterClientOptions, RedisClientOptions } from '@liaoliaots/nestjs-redis';
import { clusterModuleOptions, redisModuleOptions } from './redis-options';

describe('Redis connection options', () => {
  it('a cluster gets a Cluster client with credentials on every node, fail-fast commands and no offline queue', () => {
    const redis = {
      kind: 'cluster' as const,
      nodes: [{ host: 'n1', port: 7000 }],
      password: 'cluster-pass',
      tls: true,
    };

    expect(redisModuleOptions(redis, 'wxhub').config).toEqual([]);
    const config = clusterModuleOptions(redis, 'wxhub').config as ClusterClientOptions;
    expect(config).toMatchObject({
      namespace: 'wxhub',
      nodes: [{ host: 'n1', port: 7000 }],
      enableOfflineQueue: false,
      redisOptions: { commandTimeout: 1000, password: 'cluster-pass', tls: {} },
    });
  });

  it('Sentinel follows +switch-master and reconnects on READONLY, and nothing else', () => {
    const config = redisModuleOptions(
      { kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', password: 'p' },
      'wxhub',
    ).config as RedisClientOptions;

    expect(clusterModuleOptions({ kind: 'sentinel', sentinels: [], name: 'm' }, 'wxhub').config).toEqual([]);
    expect(config).toMatchObject({
      name: 'mymaster',
      password: 'p',
      failoverDetector: true,
      commandTimeout: 1000,
    });
    expect(
      config.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")),
    ).toBe(2);
    expect(config.reconnectOnError?.(new Error('ERR wrong number of arguments'))).toBe(false);
  });

  it('a URL keeps its own credentials and no Redis means no client', () => {
    expect(
      redisModuleOptions({ kind: 'url', url: 'redis://:pw@cache:6379/1' }, 'wxhub').config,
    ).toMatchObject({
      url: 'redis://:pw@cache:6379/1',
    });
    expect(redisModuleOptions(null, 'wxhub').config).toEqual([]);
    expect(clusterModuleOptions(null, 'wxhub').config).toEqual([]);
  });
});
