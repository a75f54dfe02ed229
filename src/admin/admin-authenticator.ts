import type { BlockList } from 'node:net';
import { ForbiddenException, Injectable } from '@nestjs/common';
import { AuthFailureLimiter, type AuthSurface } from '../clients/auth-failure-limiter';
import { authenticateBearer } from '../clients/bearer-authentication';
import { keyDigest, keyFingerprint } from '../clients/client-key';
import { ClientRegistry } from '../clients/client-registry';
import { AuthenticationFailedError } from '../clients/errors/authentication-failed.error';
import type { Principal } from '../clients/principal';
import { ipAllowed, parseCidrList } from '../common/ip';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';

/** How a key is named in the audit log and the rate limits: `key#` + the first 8 hex digits of its SHA-256. */
export function apiKeyId(key: string): string {
  return keyFingerprint(keyDigest(key));
}

/**
 * The bearer-key check shared by the admin API and the HTTP gateway: the caller's address must be in
 * ADMIN_ALLOWED_IPS (403), must not have failed too often on the `api` surface (429 with Retry-After), then carry
 * the key of an admin (ADMIN_API_KEYS) or of a client (401 otherwise). Keys are resolved by the ClientRegistry
 * (timing-safe, reloadable); what the principal may do is decided per route (RequireScope, authorize).
 *
 * Failed keys are counted per address on the `api` surface only: wrong secrets on the public drop-ins count on
 * their own surface and never lock the admin API (see AuthFailureLimiter).
 */
@Injectable()
export class AdminAuthenticator {
  private readonly allowList: BlockList | null;

  constructor(
    @InjectWxhubConfig() config: WxhubConfig,
    readonly clients: ClientRegistry,
    private readonly limiter: AuthFailureLimiter,
  ) {
    this.allowList = config.admin.allowedIps.length ? parseCidrList(config.admin.allowedIps) : null;
  }

  /**
   * The principal of the request's key. Throws ForbiddenException (address not allowed) or
   * AuthenticationFailedError (401, 429 with Retry-After). `what` names the surface in messages.
   */
  authenticate(
    ip: string,
    authorization: string | undefined,
    what = 'the admin API',
    surface: AuthSurface = 'api',
  ): Principal {
    if (this.allowList && !ipAllowed(this.allowList, ip)) {
      throw new ForbiddenException(`address ${ip} is not allowed to use ${what}`);
    }
    const result = authenticateBearer(this.clients, this.limiter, ip, authorization, what, surface);
    if (result.ok) return result.principal;
    throw new AuthenticationFailedError(
      result.status,
      result.message,
      result.status === 429 ? result.retryAfterSeconds : undefined,
    );
  }

  /**
   * The principal authenticate() would return, when it would return one at once: the address allowed and not
   * blocked, the key one that already resolved on this instance (ClientRegistry.recallAuthorization: a map lookup,
   * no digest). `undefined` otherwise, with no side effect (no failure counted, nothing thrown, no metric): the
   * caller then goes through authenticate().
   */
  recognise(ip: string, authorization: string | undefined): Principal | undefined {
    if (authorization === undefined) return undefined;
    const principal = this.clients.recallAuthorization(authorization);
    if (principal === undefined) return undefined;
    if (this.allowList && !ipAllowed(this.allowList, ip)) return undefined;
    return this.limiter.peek('api', ip).blocked ? undefined : principal;
  }
}
