import type { WxhubConfig } from '../config/wxhub-config';
import { SecretScrubber } from './secret-scrubber';
import { SecretsFeeder } from './secrets-feeder';

describe('SecretsFeeder', () => {
  it.each([
    [{ kind: 'url', url: 'redis://:url%23pass%2Fword@cache:6379/0' }, ['url#pass/word']],
    [
      {
        kind: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'mymaster',
        password: 'master-password',
        sentinelPassword: 'sentinel-password',
      },
      ['master-password', 'sentinel-password'],
    ],
    [
      { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }], password: 'cluster-password' },
      ['cluster-password'],
    ],
  ] as [WxhubConfig['redis'], string[]][])(
    'hands the scrubber the Redis passwords of %j',
    (redis, passwords) => {
      const scrubber = new SecretScrubber();
      const feeder = new SecretsFeeder(scrubber, undefined, undefined, undefined, { redis } as WxhubConfig);

      for (const password of passwords) {
        expect(scrubber.scrub(`a ${password} b ${encodeURIComponent(password)} c`)).toBe(
          'a [redacted] b [redacted] c',
        );
      }
      feeder.onModuleDestroy();
    },
  );
});
