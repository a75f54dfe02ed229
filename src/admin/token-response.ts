import type { AccessToken } from '../token/token.service';

export interface TokenResponse {
  access_token: string;
  /** Seconds left now. */
  expires_in: number;
  /** ISO 8601. */
  expires_at: string;
  version: number;
}

/** Seconds `token` has left at `now` (ms), as `expires_in` gives them. */
export function secondsLeft(token: AccessToken, now = Date.now()): number {
  return Math.max(0, Math.floor((token.expiresAt.getTime() - now) / 1000));
}

export function tokenResponse(token: AccessToken, expiresIn = secondsLeft(token)): TokenResponse {
  return {
    access_token: token.value,
    expires_in: expiresIn,
    expires_at: token.expiresAt.toISOString(),
    version: token.version,
  };
}
