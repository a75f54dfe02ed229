import { Logger } from '@nestjs/common';
import type { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

/** The @nestjs/throttler storage record. */
export type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * KEYS: hits, blocked. ARGV: ttl ms, limit, block ms. A fixed window counted with INCR + PEXPIRE; past the limit
 * the client is blocked for the block duration and its count starts again afterwards (the semantics of
 * @nestjs/throttler's in-memory storage). Returns {hits, ms left in the window, blocked 0|1, ms left blocked}.
 */
const INCREMENT = `
local blockedFor = redis.call('PTTL', KEYS[2])
if blockedFor > 0 then
  return {tonumber(ARGV[2]) + 1, blockedFor, 1, blockedFor}
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  local block = tonumber(ARGV[3])
  if block > 0 then
    redis.call('SET', KEYS[2], '1', 'PX', block)
    redis.call('DEL', KEYS[1])
    return {hits, left, 1, block}
  end
  return {hits, left, 1, left}
end
return {hits, left, 0, 0}
`;

/** After a Redis error, counting stays in memory this long before Redis is tried again. */
const BYPASS_MS = 5_000;
const WARN_EVERY_MS = 30_000;

/**
 * @nestjs/throttler's storage contract over Redis, so every instance of the fleet counts against one limit. Keys:
 * `<prefix>:throttle:{<name>:<client>}` (+ `:blocked`), one hash tag per client so both keys share a Cluster slot.
 *
 * When Redis fails it never blocks anyone on that account: the call is counted in memory instead (this instance's
 * share only, so it can only allow more than the shared limit would, never less), Redis is left alone for 5 s, a
 * warning is logged at most every 30 s and `onFailure` is told (a metric).
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private bypassUntil = 0;
  private lastWarnedAt = 0;
  private failures = 0;

  constructor(
    private readonly redis: Pick<Redis, 'eval'>,
    private readonly keyPrefix: string,
    private readonly fallback: ThrottlerStorageService,
    private readonly onFailure: () => void = () => undefined,
  ) {}

  /** Calls counted in memory because Redis failed. */
  get storeFailures(): number {
    return this.failures;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    if (Date.now() < this.bypassUntil) {
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
    const hits = `${this.keyPrefix}:throttle:{${key}}`;
    try {
      const [totalHits, left, blocked, blockedFor] = (await this.redis.eval(
        INCREMENT,
        2,
        hits,
        `${hits}:blocked`,
        Math.max(1, Math.round(ttl)),
        limit,
        Math.max(0, Math.round(blockDuration)),
      )) as [number, number, number, number];
      return {
        totalHits,
        timeToExpire: Math.ceil(left / 1000),
        isBlocked: blocked === 1,
        timeToBlockExpire: blocked === 1 ? Math.max(1, Math.ceil(blockedFor / 1000)) : 0,
      };
    } catch (error) {
      this.failures += 1;
      this.onFailure();
      const now = Date.now();
      this.bypassUntil = now + BYPASS_MS;
      if (now - this.lastWarnedAt >= WARN_EVERY_MS) {
        this.lastWarnedAt = now;
        this.logger.warn(
          `rate limits cannot reach Redis (${(error as Error).message}); counting in this instance only ` +
            `for now (${this.failures} calls so far).`,
        );
      }
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }
}
