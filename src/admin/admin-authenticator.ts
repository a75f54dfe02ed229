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

/** How many distinct Authorization headers carrying a valid key are remembered (see AdminAuthenticator). */
const MAX_VERIFIED_HEADERS = 64;

/**
 * The API-key check shared by the admin API and the HTTP gateway: the caller's address must be in
 * ADMIN_ALLOWED_IPS (403), must not have failed too often (429), then carry one of ADMIN_API_KEYS as a bearer
 * token (401). Keys are compared as SHA-256 digests with timingSafeEqual, against every key, so neither the
 * length nor the position of a key leaks. No keys configured = every call refused. Failures of both surfaces
 * count towards one limiter.
 *
 * A header that passed is remembered (at most MAX_VERIFIED_HEADERS, forgotten all at once when full), so a client
 * sending its key again costs a map lookup instead of a digest. Only headers that carried a valid key are kept,
 * so a wrong key always goes through the digests. The lookup compares a presented header with the kept ones by
 * V8's string hash, which is seeded per process: its timing says nothing about the bytes of a key.
 */
@Injectable()
export class AdminAuthenticator {
  private readonly keys: { digest: Buffer; id: string }[];
  private readonly allowList: BlockList | null;
  private readonly verified = new Map<string, string>();

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
    const remembered = authorization === undefined ? undefined : this.verified.get(authorization);
    if (remembered !== undefined) return remembered;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      this.limiter.fail(ip);
      throw new UnauthorizedException('missing "Authorization: Bearer <key>" header');
    }
    const id = this.keyIdOf(match[1]);
    if (id === undefined) {
      this.limiter.fail(ip);
      throw new UnauthorizedException('invalid API key');
    }
    this.remember(authorization!, id);
    return id;
  }

  /**
   * The key id authenticate() would return, when it would return one at once: the address allowed and not
   * blocked, the header one that already carried a valid key. `undefined` otherwise, with no side effect (no
   * failure counted, nothing thrown, no metric): the caller then goes through authenticate().
   */
  recognise(ip: string, authorization: string | undefined): string | undefined {
    if (authorization === undefined) return undefined;
    const id = this.verified.get(authorization);
    if (id === undefined) return undefined;
    if (this.allowList && !ipAllowed(this.allowList, ip)) return undefined;
    return this.limiter.isBlocked(ip) ? undefined : id;
  }

  private keyIdOf(presentedKey: string): string | undefined {
    const presented = digest(presentedKey);
    let id: string | undefined;
    for (const key of this.keys) if (timingSafeEqual(key.digest, presented)) id ??= key.id;
    return id;
  }

  private remember(authorization: string, id: string): void {
    if (this.verified.size >= MAX_VERIFIED_HEADERS) this.verified.clear();
    this.verified.set(authorization, id);
  }
}
