import { CanActivate, ExecutionContext, Injectable, Optional } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { setRequestActor } from '../audit/request-actor';
import { RouteThrottler } from '../throttle/route-throttler.guard';
import { AdminAuthenticator } from './admin-authenticator';

/**
 * `/api/v1/*`: the AdminAuthenticator check (403 address, 429 too many failures, 401 key), then the rate limit of
 * the route, counted per API key (429 with Retry-After). The caller (`key#…` and address) is remembered on the
 * request for the audit log.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: AdminAuthenticator,
    @Optional() private readonly throttler?: RouteThrottler,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const keyId = this.authenticator.authenticate(request.ip, request.headers.authorization);
    setRequestActor(request, { id: keyId, ip: request.ip });
    return this.throttler ? this.throttler.canActivate(context) : true;
  }
}
