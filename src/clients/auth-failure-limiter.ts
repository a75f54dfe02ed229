import { Injectable, Logger, Optional } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimiter, throttledCounter } from '../throttle/rate-limiter';

const DEFAULT_WINDOW_MS = 60_000;
const DEFAULT_MAX_FAILURES = 20;
const MAX_TRACKED = 10_000;

/**
 * Where a credential was presented. Each surface has its own failure count per address:
 * - `api`: a bearer key (`/api/v1/*`, the gateway, the console sign-in);
 * - `drop-in`: appid + secret on the public WeChat-compatible token routes (`/cgi-bin/token`,
 *   `/cgi-bin/stable_token`, the Open Platform token drop-ins).
 */
export type AuthSurface = 'api' | 'drop-in';

/** Whether an address may present a credential on a surface now; when not, how long to wait (`Retry-After`). */
export type AuthBlock = { blocked: false } | { blocked: true; retryAfterSeconds: number };

const OPEN: AuthBlock = Object.freeze({ blocked: false });

/**
 * Counts failed authentications per (surface, client address) and blocks that pair once it reaches
 * THROTTLE_FAILED_AUTH_LIMIT failures in a window (brute force), for the rest of the window.
 *
 * Scoping, decided so that one caller cannot lock others out of more than what it attacked:
 * - Per surface: wrong secrets on the public drop-in block only the drop-in for that address, never the admin API
 *   (a misconfigured SDK, or anyone on the Internet, cannot lock an operator out of `/api/v1/*`), and a key
 *   brute-forced on the API does not stop the SDKs behind the same address.
 * - Per address, not per key: a guess carries a different key each time, so only the address can be blocked. A
 *   valid key is not let through a block either: that would tell a guesser which guess was right.
 * - Only guesses count: a wrong key or secret. A request with no credential at all (a health probe, a service
 *   deployed without its key) is answered 401 but not counted, and neither is a valid key refused for its scope
 *   (403). Behind a NAT or a shared egress, the services of one address still share one budget per surface; set
 *   TRUST_PROXY so the hub sees the real addresses, or raise THROTTLE_FAILED_AUTH_LIMIT.
 * - A blocked answer carries the seconds until the block ends ({@link AuthBlock}), sent as `Retry-After` (and in
 *   the 45011 message of the drop-ins).
 *
 * The count is shared by the fleet (RateLimiter, Redis), so a brute force spread over N instances gets the budget of
 * one (plus at most N-1 attempts: an instance learns of a block at its own next failure). Only failures touch
 * Redis: {@link check} answers from memory, so valid keys never wait on Redis. Each instance also counts locally,
 * which keeps the limit when Redis is unreachable.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly logger = new Logger(AuthFailureLimiter.name);
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

  /** Counts one guess (a wrong key or secret) from `ip` on `surface`. */
  fail(surface: AuthSurface, ip: string): void {
    if (this.maxFailures === 0) return;
    const subject = `${surface}:ip:${ip}`;
    const now = Date.now();
    let entry = this.failures.get(subject);
    if (!entry || now - entry.since > this.windowMs) {
      if (this.failures.size >= MAX_TRACKED) this.prune(now);
      entry = { count: 0, since: now };
      this.failures.set(subject, entry);
    }
    entry.count += 1;
    if (entry.count >= this.maxFailures) this.block(subject, entry.since + this.windowMs);
    if (!this.shared) return;
    this.shared
      .hit('failed-auth', subject)
      .then(({ hits, allowed, retryAfterSeconds }) => {
        // blocked from the limit-th failure on, as the local count does
        if (!allowed) this.block(subject, Date.now() + retryAfterSeconds * 1000);
        else if (hits >= this.maxFailures) this.block(subject, Date.now() + this.windowMs);
      })
      .catch((error: Error) => this.logger.warn(`failed authentication not counted: ${error.message}`));
  }

  /** Whether `ip` is refused on `surface` now; a refusal is counted in `wxhub_throttled_total{limit="failed-auth"}`. */
  check(surface: AuthSurface, ip: string): AuthBlock {
    const block = this.peek(surface, ip);
    if (block.blocked) this.refused?.labels('failed-auth').inc();
    return block;
  }

  /** {@link check} without counting the refusal. */
  peek(surface: AuthSurface, ip: string): AuthBlock {
    const subject = `${surface}:ip:${ip}`;
    const until = this.blockedUntil.get(subject);
    if (until === undefined) return OPEN;
    const left = until - Date.now();
    if (left <= 0) {
      this.blockedUntil.delete(subject);
      return OPEN;
    }
    return { blocked: true, retryAfterSeconds: Math.ceil(left / 1000) };
  }

  private block(subject: string, until: number): void {
    if (this.blockedUntil.size >= MAX_TRACKED) this.prune(Date.now());
    this.blockedUntil.set(subject, Math.max(until, this.blockedUntil.get(subject) ?? 0));
  }

  private prune(now: number): void {
    for (const [subject, entry] of this.failures)
      if (now - entry.since > this.windowMs) this.failures.delete(subject);
    for (const [subject, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(subject);
  }
}
