import { Injectable } from '@nestjs/common';

const WINDOW_MS = 60_000;
const MAX_FAILURES = 20;
const MAX_TRACKED = 10_000;

/** Counts failed authentications per client address and blocks an address past 20 a minute (brute force). */
@Injectable()
export class FailedAuthLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  fail(ip: string): void {
    const now = Date.now();
    const entry = this.failures.get(ip);
    if (!entry || now - entry.since > WINDOW_MS) {
      if (this.failures.size >= MAX_TRACKED) this.prune(now);
      this.failures.set(ip, { count: 1, since: now });
    } else {
      entry.count += 1;
    }
  }

  blocked(ip: string): boolean {
    const entry = this.failures.get(ip);
    return entry !== undefined && entry.count >= MAX_FAILURES && Date.now() - entry.since <= WINDOW_MS;
  }

  private prune(now: number): void {
    for (const [ip, entry] of this.failures) if (now - entry.since > WINDOW_MS) this.failures.delete(ip);
  }
}
