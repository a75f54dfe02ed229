import { Redis } from 'ioredis';
import { clusterClientOptions, createRedisClient, redisClientOptions } from './redis-options';

describe('Redis connection options', () => {
  it('a cluster gets a Cluster client with credentials on every node, fail-fast commands and no offline queue', () => {
    const redis = {
      kind: 'cluster' as const,
      nodes: [{ host: 'n1', port: 7000 }],
      password: 'cluster-pass',
      tls: true,
    };

    const { nodes, options } = clusterClientOptions(redis);
    expect(nodes).toEqual([{ host: 'n1', port: 7000 }]);
    expect(options).toMatchObject({
      enableOfflineQueue: false,
      redisOptions: { commandTimeout: 1000, password: 'cluster-pass', tls: {} },
    });
  });

  it('Sentinel follows +switch-master and reconnects on READONLY, and nothing else', () => {
    const config = redisClientOptions({
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      password: 'p',
    });

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
    const url = createRedisClient({ kind: 'url', url: 'redis://:pw@127.0.0.1:1/1' }, 'wxhub');
    expect(url).toBeInstanceOf(Redis);
    expect(url!.options).toMatchObject({ password: 'pw', db: 1, commandTimeout: 1000 });
    url!.disconnect();
    expect(createRedisClient(null, 'wxhub')).toBeNull();
  });

  it('pipelines the commands of one event-loop turn only on a connection that asks for it', () => {
    const clients = [
      createRedisClient({ kind: 'url', url: 'redis://127.0.0.1:1' }, 'wxhub', { autoPipelining: true }),
      createRedisClient({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }] }, 'wxhub', {
        autoPipelining: true,
      }),
      createRedisClient({ kind: 'url', url: 'redis://127.0.0.1:1' }, 'wxhub'),
    ];
    try {
      expect(clients.map((client) => client!.options.enableAutoPipelining)).toEqual([true, true, false]);
    } finally {
      for (const client of clients) client!.disconnect();
    }
  });
});
