/**
 * Extra seconds a handled push is remembered beyond its acceptance window: clocks of several instances differ a
 * little, and the handler's own time passes between the timestamp check and the record.
 */
export const DEDUPE_MARGIN_SECONDS = 30;

/** The de-duplication TTL when the timestamp window is off (CALLBACK_MAX_CLOCK_SKEW_SECONDS=0). */
export const DEDUPE_TTL_WITHOUT_WINDOW_SECONDS = 120;

/**
 * The shortest de-duplication TTL that covers every moment a push is accepted. A push stamped `t` passes the
 * timestamp check while |now − t| ≤ skew, so it may first arrive at t − skew and be replayed up to t + skew: its
 * entry must outlive 2 × skew from the first receipt. With the window off (skew 0) no TTL covers a replay, and
 * WeChat's own retries (within ~15 s) are what remains to cover.
 */
export function minimumDedupeTtlSeconds(maxClockSkewSeconds: number): number {
  if (maxClockSkewSeconds <= 0) return 60;
  return 2 * maxClockSkewSeconds + DEDUPE_MARGIN_SECONDS;
}

/**
 * The de-duplication TTL to use: `explicit` when given (refused with a message naming both settings when shorter
 * than the window), else derived from the window (2 × skew + margin), or 120 s with the window off.
 */
export function dedupeTtlSecondsFor(maxClockSkewSeconds: number, explicit?: number): number {
  const minimum = minimumDedupeTtlSeconds(maxClockSkewSeconds);
  if (explicit !== undefined) {
    if (explicit < minimum) throw new RangeError(dedupeTtlProblem(maxClockSkewSeconds, explicit));
    return explicit;
  }
  return maxClockSkewSeconds > 0 ? minimum : DEDUPE_TTL_WITHOUT_WINDOW_SECONDS;
}

/** The message of a TTL shorter than the acceptance window. */
export function dedupeTtlProblem(maxClockSkewSeconds: number, explicit: number): string {
  const minimum = minimumDedupeTtlSeconds(maxClockSkewSeconds);
  return maxClockSkewSeconds > 0
    ? `CALLBACK_DEDUPE_TTL_SECONDS (${explicit}) must be at least ${minimum}: a push is accepted for ` +
        `2 × CALLBACK_MAX_CLOCK_SKEW_SECONDS (${maxClockSkewSeconds}) after it is first seen, and a replay after ` +
        `its de-duplication entry expired would be handled again (leave it unset to derive it from the window)`
    : `CALLBACK_DEDUPE_TTL_SECONDS (${explicit}) must be at least ${minimum}`;
}
