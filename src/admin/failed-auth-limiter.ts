import { Injectable, Logger, Optional } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimiter, throttledCounter } from '../throttle/rate-limiter';

const DEFAULT_WINDOW_MS = 60_000;
const DEFAULT_MAX_FAILURES = 20;
const MAX_TRACKED = 10_000;

/**
 * Counts failed authentications per client address (admin API, gateway, SDK drop-ins) and blocks an address once
 * it reaches THROTTLE_FAILED_AUTH_LIMIT failures in a window (brute force).
 *
 * The count is shared by the fleet (RateLimiter, Redis), so a brute force spread over N instances behind a load
 * balancer gets the same budget as against one. Only failures touch Redis: `blocked()` answers from memory, so the
 * hot path of valid keys (gateway, token reads) never waits on Redis. An instance learns of a block when one of its
 * own failures is counted, so across N instances an address gets at most N-1 extra attempts per window. Each
 * instance also counts locally, which keeps the limit when Redis is unreachable.
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly logger = new Logger(FailedAuthLimiter.name);
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly blockedUntil = new Map<string, number>();
  private readonly windowMs: number;
  private readonly maxFailures: number;
  private readonly refused: Counter<'limit'> | undefined;

  constructor(
    @Optional() private readonly shared?: RateLimiter,
    @Optional() metrics?: MetricsService,
  ) {
    this.windowMs = shared ? shared.windowSeconds * 1000 : DEFAULT_WINDOW_MS;
    this.maxFailures = shared ? shared.limitOf('failed-auth') : DEFAULT_MAX_FAILURES;
    this.refused = metrics ? throttledCounter(metrics) : undefined;
  }

  fail(ip: string): void {
    if (this.maxFailures === 0) return;
    const now = Date.now();
    const entry = this.failures.get(ip);
    if (!entry || now - entry.since > this.windowMs) {
      if (this.failures.size >= MAX_TRACKED) this.prune(now);
      this.failures.set(ip, { count: 1, since: now });
    } else {
      entry.count += 1;
      if (entry.count >= this.maxFailures) this.block(ip, entry.since + this.windowMs);
    }
    if (!this.shared) return;
    this.shared
      .hit('failed-auth', `ip:${ip}`)
      .then(({ hits, allowed, retryAfterSeconds }) => {
        // blocked from the limit-th failure on, as the local count does
        if (!allowed) this.block(ip, Date.now() + retryAfterSeconds * 1000);
        else if (hits >= this.maxFailures) this.block(ip, Date.now() + this.windowMs);
      })
      .catch((error: Error) => this.logger.warn(`failed authentication not counted: ${error.message}`));
  }

  /** Whether `ip` is refused now, without counting the refusal (see blocked). */
  isBlocked(ip: string): boolean {
    const until = this.blockedUntil.get(ip);
    return until !== undefined && Date.now() < until;
  }

  /** Whether `ip` is refused now (counted in `wxhub_throttled_total{limit="failed-auth"}` when it is). */
  blocked(ip: string): boolean {
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return false;
    if (Date.now() < until) {
      this.refused?.labels('failed-auth').inc();
      return true;
    }
    this.blockedUntil.delete(ip);
    return false;
  }

  private block(ip: string, until: number): void {
    if (this.blockedUntil.size >= MAX_TRACKED) this.prune(Date.now());
    this.blockedUntil.set(ip, Math.max(until, this.blockedUntil.get(ip) ?? 0));
  }

  private prune(now: number): void {
    for (const [ip, entry] of this.failures) if (now - entry.since > this.windowMs) this.failures.delete(ip);
    for (const [ip, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(ip);
  }
}
