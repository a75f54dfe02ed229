import { createHash, timingSafeEqual } from 'node:crypto';
import type { BlockList } from 'node:net';
import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ipAllowed, parseCidrList } from '../common/ip';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { FailedAuthLimiter } from './failed-auth-limiter';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * `/api/v1/*`: the caller's address must be in ADMIN_ALLOWED_IPS (403), then carry one of ADMIN_API_KEYS as a
 * bearer token (401). Keys are compared as SHA-256 digests with timingSafeEqual, against every key, so
 * neither the length nor the position of a key leaks. No keys configured = every call refused.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly keys: Buffer[];
  private readonly allowList: BlockList | null;

  constructor(
    @InjectWxhubConfig() config: WxhubConfig,
    private readonly limiter: FailedAuthLimiter,
  ) {
    this.keys = config.admin.apiKeys.map(digest);
    this.allowList = config.admin.allowedIps.length ? parseCidrList(config.admin.allowedIps) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (this.allowList && !ipAllowed(this.allowList, request.ip)) {
      throw new ForbiddenException(`address ${request.ip} is not allowed to use the admin API`);
    }
    if (this.limiter.blocked(request.ip)) {
      throw new HttpException('too many failed authentications; wait a minute', HttpStatus.TOO_MANY_REQUESTS);
    }
    if (this.keys.length === 0) {
      throw new UnauthorizedException('the admin API is disabled: no ADMIN_API_KEYS are configured');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) {
      this.limiter.fail(request.ip);
      throw new UnauthorizedException('missing "Authorization: Bearer <key>" header');
    }
    const presented = digest(match[1]);
    let ok = false;
    for (const key of this.keys) ok = timingSafeEqual(key, presented) || ok;
    if (!ok) {
      this.limiter.fail(request.ip);
      throw new UnauthorizedException('invalid API key');
    }
    return true;
  }
}
