import Redis from 'ioredis';
import { createRedisClient } from './redis-options';
import { parseRedisUrl, redisPasswords, type RedisUrl, redisUrlProblems, RedisUrlError } from './redis-url';

const PASSWORD = 'S3cret#with/odd?chars';

function problemOf(text: string): string {
  try {
    parseRedisUrl(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RedisUrlError);
    return (error as Error).message;
  }
  throw new Error(`parseRedisUrl accepted ${text}`);
}

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1', { host: '127.0.0.1', port: 6379, db: 0, tls: false }],
    ['redis://cache:6380/2', { host: 'cache', port: 6380, db: 2, tls: false }],
    [
      'rediss://u:p%40ss%23w@cache:6380/',
      { host: 'cache', port: 6380, db: 0, tls: true, username: 'u', password: 'p@ss#w' },
    ],
    ['redis://:p@ss@cache', { host: 'cache', port: 6379, db: 0, tls: false, password: 'p@ss' }],
    ['redis://[::1]:7000/1?family=6', { host: '::1', port: 7000, db: 1, tls: false }],
    [
      `redis://:${encodeURIComponent(PASSWORD)}@h:1/0`,
      { host: 'h', port: 1, db: 0, tls: false, password: PASSWORD },
    ],
  ] as [string, RedisUrl][])('reads %s as ioredis does', (text, expected) => {
    expect(parseRedisUrl(text)).toEqual(expected);
    // the same host, port, db and credentials ioredis connects with
    const client = new Redis(text, { lazyConnect: true });
    expect({
      host: client.options.host,
      port: Number(client.options.port),
      db: Number(client.options.db ?? 0),
      password: client.options.password || undefined,
    }).toEqual({ host: expected.host, port: expected.port, db: expected.db, password: expected.password });
    client.disconnect();
  });

  it.each([
    `redis://:${PASSWORD}@127.0.0.1:6379/0`,
    'redis://:pa#ss@127.0.0.1:6379/0',
    'redis://user:pa/ss@cache:6379',
    'redis://user:pa?ss@cache',
    // these parse, wrongly: the start of the password taken as host and port
    'redis://user:12#ss@cache:6379',
    'redis://user:12?ss@cache:6379',
    'redis://user:12/ss@cache:6379',
  ])('refuses an unescaped #, / or ? in the credentials of %s, quoting none of it', (text) => {
    const message = problemOf(text);

    expect(message).toBe(
      "REDIS_URL: the password (or user name) contains '#', '/' or '?' unescaped: percent-encode it (# as %23, / as %2F, ? as %3F)",
    );
  });

  it.each([
    ['http://cache:6379', 'REDIS_URL must start with redis:// or rediss://'],
    ['redis://', 'REDIS_URL has no host'],
    [
      'redis://:secret@cache:99999',
      'REDIS_URL is not a valid URL (redis://[user:password@]host[:port][/db])',
    ],
    ['redis://:pa%zzss@cache', "REDIS_URL: the password has a '%' that starts no escape: write it as %25"],
    ['redis://:pa%C3ss@cache', 'REDIS_URL: the password has an escape that is not UTF-8'],
    ['redis://cache:6379/zero', 'REDIS_URL: the path must be a database number, as in redis://host:6379/0'],
    [
      'redis://cache:6379/0#frag',
      "REDIS_URL: '#' is not allowed; percent-encode it as %23 in a user name or password",
    ],
  ])('refuses %s with a message naming the problem', (text, message) => {
    expect(problemOf(text)).toBe(message);
    expect(message).not.toMatch(/secret|pa%|zz/);
  });

  it('gives the problems as a list for a configuration, empty when the URL is fine', () => {
    expect(redisUrlProblems('redis://cache:6379/0')).toEqual([]);
    expect(redisUrlProblems('redis://:a#b@cache', 'REDIS_URL')[0]).toMatch(/^REDIS_URL: the password/);
  });
});

describe('redisPasswords', () => {
  it('gives every password of every mode, also of a URL that does not parse', () => {
    expect(redisPasswords({ kind: 'url', url: `redis://:${PASSWORD}@cache:6379/0` })).toEqual([PASSWORD]);
    expect(redisPasswords({ kind: 'url', url: 'redis://u:p%23ss%2Fw@cache' }).sort()).toEqual([
      'p#ss/w',
      'p%23ss%2Fw',
    ]);
    expect(redisPasswords({ kind: 'url', url: 'redis://cache?password=in-the-query' })).toEqual([
      'in-the-query',
    ]);
    expect(
      redisPasswords({
        kind: 'sentinel',
        sentinels: [{ host: 's', port: 26379 }],
        name: 'm',
        password: 'master-pw',
        sentinelPassword: 'sentinel-pw',
      }),
    ).toEqual(['master-pw', 'sentinel-pw']);
    expect(
      redisPasswords({ kind: 'cluster', nodes: [{ host: 'n', port: 7000 }], password: 'cluster-pw' }),
    ).toEqual(['cluster-pw']);
    expect(redisPasswords({ kind: 'url', url: 'redis://cache' })).toEqual([]);
    expect(redisPasswords(null)).toEqual([]);
  });
});

describe('a Redis URL given in code (a host module)', () => {
  it('is refused when the client is made, with the same message', () => {
    expect(() => createRedisClient({ kind: 'url', url: 'redis://:pa#ss@cache:6379/0' }, 'wxhub')).toThrow(
      /^redis\.url: the password \(or user name\) contains '#', '\/' or '\?' unescaped/,
    );
    const client = createRedisClient(
      { kind: 'url', url: 'redis://:pa%23ss@127.0.0.1:1/0' },
      'wxhub',
    ) as Redis;
    try {
      expect(client.options.password).toBe('pa#ss');
    } finally {
      client.disconnect();
    }
  });
});
