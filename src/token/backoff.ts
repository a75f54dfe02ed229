import { TokenUnavailableError } from './errors/token-unavailable.error';
import type { UpstreamTokenError } from './errors/upstream-token.error';

/** A failed upstream call and when the next attempt is allowed. */
export interface PendingBackoff {
  retryAt: number;
  error: UpstreamTokenError;
}

/** Refuses at once while a backoff is pending, so callers never hammer a failing WeChat (no hot retry loop). */
export function throwIfBackingOff(
  appId: string,
  failure: PendingBackoff | undefined,
  now = Date.now(),
): void {
  if (failure && failure.retryAt > now) {
    throw new TokenUnavailableError(
      appId,
      `${failure.error.message}; next attempt in ${Math.ceil((failure.retryAt - now) / 1000)} s`,
      failure.error.errcode,
      failure.retryAt - now,
    );
  }
}
