const CHINA_OFFSET_MS = 8 * 3600_000;

/** WeChat's daily quotas reset at midnight Beijing time: `YYYYMMDD` of that day. */
export function chinaDay(nowMs: number): string {
  return new Date(nowMs + CHINA_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

/** Milliseconds until the next midnight Beijing time, when WeChat's daily quotas (and wxhub's budgets) reset. */
export function msUntilNextChinaDay(nowMs: number): number {
  const day = 86_400_000;
  return day - ((nowMs + CHINA_OFFSET_MS) % day);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `base * 2^attempt`, capped, with full jitter in [50%, 100%] so instances spread out. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
