/**
 * Runs at most `limit` tasks at once; the others wait in arrival order. The scheduler's refreshes go through one,
 * so a cold start with thousands of accounts without a token makes a bounded number of upstream calls (and holds a
 * bounded number of locks) at a time instead of one per account at once.
 */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private peak = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError('the concurrency limit must be a positive integer');
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The most tasks that ever ran at once. */
  get maxActive(): number {
    return this.peak;
  }

  /** Runs `task` once a slot is free; resolves or rejects with it. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // the slot passes straight to the next task, so `running` never dips below the limit while tasks wait
      if (next) next();
      else this.running--;
    }
  }
}
