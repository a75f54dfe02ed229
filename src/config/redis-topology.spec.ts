import { loadError } from '../../test/support/config-fixtures';
import { loadWxhubConfig } from './wxhub-config';

describe('Redis connection', () => {
  it('reads REDIS_URL', () => {
    expect(loadWxhubConfig({ REDIS_URL: 'redis://cache:6379/2' }).redis).toEqual({
      kind: 'url',
      url: 'redis://cache:6379/2',
    });
  });

  it('refuses a REDIS_URL without a redis scheme', () => {
    expect(loadError({ REDIS_URL: 'http://cache:6379' }).problems).toEqual([
      'REDIS_URL must start with redis:// or rediss://',
    ]);
  });

  it('reads REDIS_SENTINELS with REDIS_SENTINEL_NAME', () => {
    const config = loadWxhubConfig({
      REDIS_SENTINELS: 's1:26379, s2:26380',
      REDIS_SENTINEL_NAME: 'mymaster',
    });

    expect(config.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
    });
  });

  it.each([
    [
      'REDIS_URL together with REDIS_SENTINELS',
      { REDIS_URL: 'redis://cache:6379' },
      'REDIS_URL and REDIS_SENTINELS',
    ],
    [
      'REDIS_CLUSTER_NODES together with REDIS_SENTINELS, naming both',
      { REDIS_CLUSTER_NODES: 'n1:7000' },
      'REDIS_SENTINELS and REDIS_CLUSTER_NODES',
    ],
  ])('refuses %s', (_what, other, named) => {
    const error = loadError({ ...other, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'mymaster' });

    expect(error.problems).toEqual([
      `set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got ${named})`,
    ]);
  });

  it('refuses REDIS_SENTINELS without REDIS_SENTINEL_NAME', () => {
    expect(loadError({ REDIS_SENTINELS: 's1:26379' }).problems).toEqual([
      'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS',
    ]);
  });

  it('refuses a malformed REDIS_SENTINELS list', () => {
    expect(loadError({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'mymaster' }).message).toMatch(
      /REDIS_SENTINELS must be host:port/,
    );
  });

  it('reads REDIS_CLUSTER_NODES as seed nodes, with REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS', () => {
    const config = loadWxhubConfig({
      REDIS_CLUSTER_NODES: 'n1:7000, 10.0.0.2:7001',
      REDIS_USERNAME: 'wxhub',
      REDIS_PASSWORD: 'cluster-pass-123',
      REDIS_TLS: 'true',
    });

    expect(config.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: 'wxhub',
      password: 'cluster-pass-123',
      tls: true,
    });
  });

  it('reads the data-node password and the sentinels own password in Sentinel mode', () => {
    const config = loadWxhubConfig({
      REDIS_SENTINELS: 's1:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_PASSWORD: 'master-pass-123',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pass-456',
    });

    expect(config.redis).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      password: 'master-pass-123',
      sentinelPassword: 'sentinel-pass-456',
    });
  });

  it('refuses a malformed REDIS_CLUSTER_NODES list and a port out of range', () => {
    expect(loadError({ REDIS_CLUSTER_NODES: 'n1:7000,n2' }).message).toMatch(
      /REDIS_CLUSTER_NODES must be host:port/,
    );
    expect(loadError({ REDIS_CLUSTER_NODES: 'n1:7000,n2:70000' }).problems).toEqual([
      'REDIS_CLUSTER_NODES: port 70000 is out of range',
    ]);
  });

  it('refuses REDIS_PASSWORD with REDIS_URL without echoing it (credentials go in the URL)', () => {
    const error = loadError({ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: 'do-not-echo-me' });

    expect(error.problems).toEqual([
      expect.stringMatching(
        /^REDIS_PASSWORD applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL/,
      ),
    ]);
    expect(error.message).not.toContain('do-not-echo-me');
  });

  it('refuses Redis credentials or a sentinel name when no Redis is configured', () => {
    expect(loadError({ REDIS_PASSWORD: 'x', REDIS_SENTINEL_NAME: 'mymaster' }).problems).toEqual([
      'REDIS_SENTINEL_NAME is only used with REDIS_SENTINELS',
      'REDIS_PASSWORD is set but no Redis is (REDIS_SENTINELS or REDIS_CLUSTER_NODES)',
    ]);
  });
});
