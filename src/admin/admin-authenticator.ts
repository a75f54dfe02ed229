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

/** How a key is named in the audit log and the rate limits: `key#` + the first 8 hex digits of its SHA-256. */
export function apiKeyId(key: string): string {
  return `key#${digest(key).toString('hex').slice(0, 8)}`;
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
  private readonly keys: { digest: Buffer; id: string }[];
  private readonly allowList: BlockList | null;

  constructor(
    @InjectWxhubConfig() config: WxhubConfig,
    private readonly limiter: FailedAuthLimiter,
  ) {
    this.keys = config.admin.apiKeys.map((key) => ({ digest: digest(key), id: apiKeyId(key) }));
    this.allowList = config.admin.allowedIps.length ? parseCidrList(config.admin.allowedIps) : null;
  }

  /**
   * Throws ForbiddenException, HttpException(429) or UnauthorizedException; returns the key's id (`key#…`, see
   * apiKeyId) when the caller may pass. `surface` names what is refused in messages ("the admin API", "the gateway").
   */
  authenticate(ip: string, authorization: string | undefined, surface = 'the admin API'): string {
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
    let id: string | undefined;
    for (const key of this.keys) if (timingSafeEqual(key.digest, presented)) id ??= key.id;
    if (id === undefined) {
      this.limiter.fail(ip);
      throw new UnauthorizedException('invalid API key');
    }
    return id;
  }
}
