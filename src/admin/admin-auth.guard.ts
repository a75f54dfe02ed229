import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AdminAuthenticator } from './admin-authenticator';

/** `/api/v1/*`: the AdminAuthenticator check (403 address, 429 too many failures, 401 key). */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly authenticator: AdminAuthenticator) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    this.authenticator.authenticate(request.ip, request.headers.authorization);
    return true;
  }
}
