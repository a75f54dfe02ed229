import type { AuthFailureLimiter, AuthSurface } from './auth-failure-limiter';
import type { ClientRegistry } from './client-registry';
import type { Principal } from './principal';

export type BearerAuthentication =
  | { ok: true; principal: Principal }
  /** 401: no key, or nobody's key. `message` never contains the presented key. */
  | { ok: false; status: 401; message: string }
  /** 429: too many wrong keys from this address on this surface; send `Retry-After: retryAfterSeconds`. */
  | { ok: false; status: 429; message: string; retryAfterSeconds: number };

/**
 * The bearer-key check of `/api/v1/*`, the gateway and the console, in the order that leaks least: a blocked address
 * is refused before its key is looked at (a right guess must not pass a block), then the key is resolved
 * (ClientRegistry, timing-safe) and a wrong one counted as a guess. A missing header is a 401 but no guess (see
 * AuthFailureLimiter). `what` names the surface in messages ("the admin API", "the gateway").
 */
export function authenticateBearer(
  registry: ClientRegistry,
  limiter: AuthFailureLimiter,
  ip: string,
  authorization: string | undefined,
  what = 'the admin API',
  surface: AuthSurface = 'api',
): BearerAuthentication {
  const block = limiter.check(surface, ip);
  if (block.blocked) {
    return {
      ok: false,
      status: 429,
      message: `too many failed authentications from this address; retry in ${block.retryAfterSeconds} s`,
      retryAfterSeconds: block.retryAfterSeconds,
    };
  }
  if (registry.empty) {
    return {
      ok: false,
      status: 401,
      message: `${what} is disabled: no ADMIN_API_KEYS or clients are configured`,
    };
  }
  const resolved = registry.resolveAuthorization(authorization);
  if (resolved === 'missing') {
    return { ok: false, status: 401, message: 'missing "Authorization: Bearer <key>" header' };
  }
  if (resolved === 'unknown') {
    limiter.fail(surface, ip);
    return { ok: false, status: 401, message: 'invalid API key' };
  }
  return { ok: true, principal: resolved };
}
