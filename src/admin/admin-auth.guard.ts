import { CanActivate, ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { setRequestActor } from '../audit/request-actor';
import { assertAuthorized, EVERY_ACCOUNT } from '../clients/principal';
import { RouteThrottler } from '../throttle/route-throttler.guard';
import { AdminAuthenticator } from './admin-authenticator';
import { REQUIRED_SCOPE, type ScopeRequirement } from './require-scope.decorator';

/**
 * `/api/v1/*`: the AdminAuthenticator check (403 address, 429 too many failures, 401 key), then the route's scope
 * and account (RequireScope; 403, before the route looks anything up), then the rate limit of the route, counted
 * per client (429 with Retry-After). The caller (`key#…` for an admin key, `client:<name>` for a client, and the
 * address) is remembered on the request for the audit log, the request log and the rate limits.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: AdminAuthenticator,
    private readonly reflector: Reflector,
    @Optional() private readonly throttler?: RouteThrottler,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = this.authenticator.authenticate(request.ip, request.headers.authorization);
    setRequestActor(request, { id: principal.actorId, ip: request.ip }, principal);
    const requirement = this.reflector.getAllAndOverride<ScopeRequirement | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (requirement) {
      const target =
        requirement.target === 'every'
          ? EVERY_ACCOUNT
          : requirement.target === 'appId'
            ? String((request.params as { appId?: unknown }).appId ?? '')
            : undefined;
      assertAuthorized(principal, requirement.scope, target);
    } else if (principal.kind !== 'admin') {
      // NOTE: a route without a declared scope is for admin keys only, so a new route never opens to clients by mistake
      assertAuthorized(principal, 'operate', EVERY_ACCOUNT);
    }
    return this.throttler ? this.throttler.canActivate(context) : true;
  }
}
