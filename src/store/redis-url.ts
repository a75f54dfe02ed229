import type { RedisConnection } from '../config/redis-topology';

/** A REDIS_URL taken apart: what ioredis connects with. */
export interface RedisUrl {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** `rediss://`: TLS. */
  tls: boolean;
}

/** A REDIS_URL that would not connect as written. The message names the problem, never the URL or the password. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

/** After the userinfo: a host (a name, IPv4 or [IPv6]), an optional port, database and query. */
const AFTER_USERINFO = /^(?:\[[0-9a-fA-F:.]+\]|[^\s/?#@:[\]]+)(?::\d*)?(?:\/[^?#]*)?(?:\?[^#]*)?(?:#.*)?$/;
const PERCENT_ESCAPES = /%(?![0-9a-fA-F]{2})/;

/**
 * `text` (a `redis://` or `rediss://` URL) taken apart as ioredis reads it, or a RedisUrlError saying what to fix.
 *
 * NOTE: ioredis hands the URL to WHATWG `new URL()`: a password with an unescaped `#`, `/` or `?` ends the authority
 * early, so the URL throws (and Node's error carries the whole URL as `input`) or, worse, parses with the start of the
 * password as a host and port. Those are refused here with a message that quotes nothing of the URL.
 */
export function parseRedisUrl(text: string, variable = 'REDIS_URL'): RedisUrl {
  const scheme = /^(rediss?):\/\//i.exec(text);
  if (scheme === null) throw new RedisUrlError(`${variable} must start with redis:// or rediss://`);
  const rest = text.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const authorityEnd = rest.search(/[/?#]/);
  if (at !== -1 && authorityEnd !== -1 && authorityEnd < at && AFTER_USERINFO.test(rest.slice(at + 1))) {
    throw new RedisUrlError(
      `${variable}: the password (or user name) contains '#', '/' or '?' unescaped: percent-encode it (# as %23, / as %2F, ? as %3F)`,
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError(`${variable} is not a valid URL (redis://[user:password@]host[:port][/db])`);
  }
  if (url.hash !== '') {
    throw new RedisUrlError(
      `${variable}: '#' is not allowed; percent-encode it as %23 in a user name or password`,
    );
  }
  const username = decodePart(url.username, variable, 'user name');
  const password = decodePart(url.password, variable, 'password');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new RedisUrlError(`${variable} has no host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  if (port < 1) throw new RedisUrlError(`${variable}: the port is out of range`);
  const path = url.pathname === '' ? '/' : url.pathname;
  if (!/^\/\d{0,5}$/.test(path)) {
    throw new RedisUrlError(`${variable}: the path must be a database number, as in redis://host:6379/0`);
  }
  return {
    host,
    port,
    db: path === '/' ? 0 : Number(path.slice(1)),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: scheme[1]!.toLowerCase() === 'rediss',
  };
}

/** The problem of a REDIS_URL, as a list for a configuration's problems (empty when it is fine). */
export function redisUrlProblems(text: string, variable = 'REDIS_URL'): string[] {
  try {
    parseRedisUrl(text, variable);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * Every password of a Redis connection (the URL's, which may also sit in its query, the data nodes' and the
 * sentinels'), for the log scrubber. Lenient: a URL parseRedisUrl refuses still gives its password.
 */
export function redisPasswords(redis: RedisConnection | null | undefined): string[] {
  if (!redis) return [];
  if (redis.kind !== 'url') {
    const sentinel = redis.kind === 'sentinel' ? redis.sentinelPassword : undefined;
    return [redis.password, sentinel].filter((value): value is string => !!value);
  }
  const passwords: string[] = [];
  const rest = redis.url.replace(/^[a-z]+:\/\//i, '');
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon !== -1) passwords.push(userinfo.slice(colon + 1), safeDecode(userinfo.slice(colon + 1)));
  }
  try {
    const fromQuery = new URL(redis.url).searchParams.get('password');
    if (fromQuery) passwords.push(fromQuery);
  } catch {
    // a URL that does not parse has no query ioredis would read
  }
  return [...new Set(passwords.filter(Boolean))];
}

function decodePart(part: string, variable: string, what: string): string {
  if (PERCENT_ESCAPES.test(part)) {
    throw new RedisUrlError(`${variable}: the ${what} has a '%' that starts no escape: write it as %25`);
  }
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisUrlError(`${variable}: the ${what} has an escape that is not UTF-8`);
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `text` when parseRedisUrl accepts it; else its RedisUrlError (for a URL given in code rather than REDIS_URL). */
export function checkedRedisUrl(text: string, variable = 'redis.url'): string {
  parseRedisUrl(text, variable);
  return text;
}
