/** KEYS[1] record; ARGV: expected version, new record JSON, channel, change message. Returns {1} or {0, current}. */
export const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
local version = 0
if current then version = tonumber(cjson.decode(current)['version']) or 0 end
if version ~= tonumber(ARGV[1]) then return {0, current or ''} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {1, ARGV[2]}
`;

/** KEYS[1] lock; ARGV[1] owner. Deletes only the owner's own lock. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS[1] lock; ARGV: owner, ttl ms. Extends only the owner's own lock. */
export const EXTEND_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/**
 * KEYS[1] daily counters hash; KEYS[2] last force timestamp.
 * ARGV: field, now ms, daily budget, min interval ms, counters ttl seconds.
 * Returns {granted 1|0, used, reason, retryAfterMs}.
 */
export const RESERVE_FORCE = `
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if used >= tonumber(ARGV[3]) then return {0, used, 'budget', 0} end
local last = redis.call('GET', KEYS[2])
local now = tonumber(ARGV[2])
if last and now - tonumber(last) < tonumber(ARGV[4]) then
  return {0, used, 'spacing', tonumber(ARGV[4]) - (now - tonumber(last))}
end
used = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4]) end
return {1, used, '', 0}
`;
