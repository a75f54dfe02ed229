import type { AccountRegistry } from '../accounts/account-registry';
import { backoffMs, chinaDay } from '../common/time';
import type { MetricsService } from '../metrics/metrics.service';
import type { CredentialRecord, TokenStore } from '../store/token-store';
import type { CredentialKind } from './credential-kind';
import { AccountNotFoundError } from './errors/account-not-found.error';
import type { UpstreamTokenError } from './errors/upstream-token.error';
import { COUNTERS } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import type { WechatTokenClient } from './wechat-token-client';

const LEGACY_QUOTA_WARNING = 1500;

/** What the access-token kind is built from. */
export interface AccessTokenKindDeps {
  client: WechatTokenClient;
  accounts: AccountRegistry;
  store: TokenStore;
  options: TokenPlaneOptions;
  metrics?: MetricsService;
  warn(message: string): void;
}

/**
 * The access token (`token`): `/cgi-bin/stable_token` (stable: the same token to every caller until its last
 * minutes; `force_refresh` spends the daily force budget) or `/cgi-bin/token` (legacy: each call rotates, 2,000 a
 * day). Each call is counted in the account's day counters and metrics.
 */
export function accessTokenKind(deps: AccessTokenKindDeps): CredentialKind {
  const { client, accounts, store, options, metrics } = deps;
  const account = (appId: string) => {
    const found = accounts.get(appId);
    if (!found) throw new AccountNotFoundError(appId);
    return found;
  };
  const count = (appId: string, field: string): Promise<number> =>
    store.incrementCounter(appId, chinaDay(Date.now()), field);
  return {
    id: 'token',
    label: 'token',
    forceable: true,
    rotation: (appId) => (accounts.get(appId)?.tokenEndpoint === 'stable' ? 'stable' : 'rotating'),
    endpoint: (appId) => account(appId).tokenEndpoint,
    needsAttention: (error) => error.kind === 'configuration' || error.kind === 'quota',
    backoffMs: (error: UpstreamTokenError, attempt: number, current: CredentialRecord | null) =>
      error.kind === 'configuration'
        ? backoffMs(attempt - 1, 60_000, 30 * 60_000)
        : error.kind === 'quota'
          ? backoffMs(attempt - 1, 5 * 60_000, 60 * 60_000)
          : transientDelay(attempt, current, options.minServeMs),
    async fetch({ appId, force }) {
      const config = account(appId);
      const startedAt = Date.now();
      if (force) {
        count(appId, COUNTERS.forceCalls).catch(() => undefined);
        metrics?.upstreamCall(appId, 'stable_token_force');
      } else if (config.tokenEndpoint === 'stable') {
        count(appId, COUNTERS.stableCalls).catch(() => undefined);
        metrics?.upstreamCall(appId, 'stable_token');
      } else {
        // WeChat allows 2000 legacy token calls a day (45009 after): warn well before
        metrics?.upstreamCall(appId, 'token');
        count(appId, COUNTERS.legacyCalls)
          .then((calls) => {
            if (calls >= LEGACY_QUOTA_WARNING && calls % 50 === 0)
              deps.warn(
                `${appId} made ${calls} of its 2000 daily /cgi-bin/token calls: something is rotating tokens too often`,
              );
          })
          .catch(() => undefined);
      }
      const fetched = await client.fetchToken(config, force);
      return { value: fetched.accessToken, expiresInSeconds: fetched.expiresInSeconds, startedAt };
    },
  };
}

/**
 * Capped exponential backoff, but never so long that the current token dies first: at most half of the
 * time it can still be served, so a short outage inside the refresh window costs callers nothing.
 */
function transientDelay(attempt: number, current: CredentialRecord | null, minServeMs: number): number {
  const delay = backoffMs(attempt - 1, 1_000, 30_000);
  if (!current) return delay;
  const servable = current.expiresAt - minServeMs - Date.now();
  return servable > 0 ? Math.max(250, Math.min(delay, servable / 2)) : delay;
}
