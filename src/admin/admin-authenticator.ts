import { hash, timingSafeEqual } from 'node:crypto';
import type { BlockList } from 'node:net';
import {
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ipAllowed, parseCidrList } from '../common/ip';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { FailedAuthLimiter } from './failed-auth-limiter';

function digest(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/**
 * The API-key check shared by the admin API and the HTTP gateway: the caller's address must be in
 * ADMIN_ALLOWED_IPS (403), must not have failed too often (429), then carry one of ADMIN_API_KEYS as a bearer
 * token (401). Keys are compared as SHA-256 digests with timingSafeEqual, against every key, so neither the
 * length nor the position of a key leaks. No keys configured = every call refused. Failures of both surfaces
 * count towards one limiter.
 */
@Injectable()
export class AdminAuthenticator {
  private readonly keys: Buffer[];
  private readonly allowList: BlockList | null;

  constructor(
    @InjectWxhubConfig() config: WxhubConfig,
    private readonly limiter: FailedAuthLimiter,
  ) {
    this.keys = config.admin.apiKeys.map(digest);
    this.allowList = config.admin.allowedIps.length ? parseCidrList(config.admin.allowedIps) : null;
  }

  /**
   * Throws ForbiddenException, HttpException(429) or UnauthorizedException; returns when the caller may pass.
   * `surface` names what is refused in messages ("the admin API", "the gateway").
   */
  authenticate(ip: string, authorization: string | undefined, surface = 'the admin API'): void {
    if (this.allowList && !ipAllowed(this.allowList, ip)) {
      throw new ForbiddenException(`address ${ip} is not allowed to use ${surface}`);
    }
    if (this.limiter.blocked(ip)) {
      throw new HttpException('too many failed authentications; wait a minute', HttpStatus.TOO_MANY_REQUESTS);
    }
    if (this.keys.length === 0) {
      throw new UnauthorizedException(`${surface} is disabled: no ADMIN_API_KEYS are configured`);
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      this.limiter.fail(ip);
      throw new UnauthorizedException('missing "Authorization: Bearer <key>" header');
    }
    const presented = digest(match[1]);
    let ok = false;
    for (const key of this.keys) ok = timingSafeEqual(key, presented) || ok;
    if (!ok) {
      this.limiter.fail(ip);
      throw new UnauthorizedException('invalid API key');
    }
  }
}
