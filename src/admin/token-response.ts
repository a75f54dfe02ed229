import type { AccessToken } from '../token/token.service';

export interface TokenResponse {
  access_token: string;
  /** Seconds left now. */
  expires_in: number;
  /** ISO 8601. */
  expires_at: string;
  version: number;
}

export function tokenResponse(token: AccessToken): TokenResponse {
  return {
    access_token: token.value,
    expires_in: Math.max(0, Math.floor((token.expiresAt.getTime() - Date.now()) / 1000)),
    expires_at: token.expiresAt.toISOString(),
    version: token.version,
  };
}
