import { createHash, randomBytes } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import { backoffMs, chinaDay } from '../common/time';
import type { CredentialKind, CredentialRecord, TokenStore } from '../store/token-store';
import { CredentialCoordinator } from './credential-coordinator';
import { throwIfBackingOff } from './backoff';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { UpstreamTokenError } from './errors/upstream-token.error';
import { InjectTokenPlaneOptions, InjectTokenStore } from './token.constants';
import type { TokenPlaneOptions } from './token-plane-options';
import { TokenScheduler } from './token-scheduler';
import { TokenService, type AccessToken } from './token.service';
import { WechatTokenClient } from './wechat-token-client';
import { TOKEN_DEAD_ERRCODES as TOKEN_ERRCODES } from '../wechat-transport/wechat-errcodes';

export type TicketType = 'jsapi' | 'wx_card';

/** What a page needs for `wx.config({ appId, timestamp, nonceStr, signature, jsApiList })`. */
export interface JsapiSignature {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  /** The URL that was signed (without its `#fragment`). */
  url: string;
}

const KINDS: Record<TicketType, CredentialKind> = { jsapi: 'jsapi_ticket', wx_card: 'wx_card_ticket' };
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The JS-SDK signature (protocol §11): SHA-1 of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, raw values, the URL
 * without its `#fragment`.
 */
export function jsapiSignature(
  ticket: string,
  nonceStr: string,
  timestamp: number | string,
  url: string,
): string {
  const page = url.split('#')[0] ?? url;
  return createHash('sha1')
    .update(`jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${page}`)
    .digest('hex');
}

/**
 * JS-SDK tickets (`jsapi`, `wx_card`), managed by the same engine as the access token: one shared record per account
 * and type, single-flight and a lease lock across instances, compare-and-set writes, an in-process copy dropped on
 * change, refresh ahead of expiry on a schedule from the first use. A ticket call refused for its access_token
 * repairs the token (compare-and-refresh) and is retried once.
 */
@Injectable()
export class TicketService implements OnModuleDestroy {
  private readonly logger = new Logger(TicketService.name);
  private readonly l1 = new Map<string, { record: CredentialRecord; checkedUntil: number }>();
  private readonly inFlight = new Map<string, Promise<CredentialRecord>>();
  private readonly failures = new Map<
    string,
    { attempt: number; retryAt: number; error: UpstreamTokenError }
  >();
  private readonly unsubscribe: () => void;
  private readonly learnedListeners = new Set<(appId: string, type: TicketType, ticket: string) => void>();

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly coordinator: CredentialCoordinator,
    private readonly tokens: TokenService,
    private readonly client: WechatTokenClient,
    private readonly accounts: AccountRegistry,
    private readonly scheduler: TokenScheduler,
    @InjectTokenPlaneOptions() private readonly options: TokenPlaneOptions,
  ) {
    for (const [type, kind] of Object.entries(KINDS) as [TicketType, CredentialKind][]) {
      scheduler.register(kind, (appId, horizonMs) => this.refresh(appId, type, horizonMs));
    }
    this.unsubscribe = store.onChange((change) => {
      const entry = this.l1.get(`${change.appId}:${change.kind}`);
      if (entry && entry.record.version <= change.version) entry.checkedUntil = 0;
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** Calls `listener` with each ticket this instance comes to hold (the logs scrub them). Returns the unsubscribe. */
  onTicketLearned(listener: (appId: string, type: TicketType, ticket: string) => void): () => void {
    this.learnedListeners.add(listener);
    return () => this.learnedListeners.delete(listener);
  }

  /** The current ticket of `type` for `appId`. Throws TokenUnavailableError when none can be had in time. */
  async getTicket(appId: string, type: TicketType = 'jsapi'): Promise<AccessToken> {
    this.accounts.getOrThrow(appId);
    const kind = KINDS[type];
    const key = `${appId}:${kind}`;
    const now = Date.now();
    const entry = this.l1.get(key);
    if (entry && now < entry.checkedUntil) return this.toTicket(entry.record);
    let record: CredentialRecord | null;
    try {
      record = await this.coordinator.read(appId, kind);
    } catch (error) {
      if (entry && this.coordinator.usable(entry.record)) return this.toTicket(entry.record);
      throw error;
    }
    if (this.coordinator.usable(record)) {
      if (this.coordinator.needsRefresh(record)) this.refresh(appId, type).catch(() => undefined);
    } else {
      record = await this.refresh(appId, type, Number.POSITIVE_INFINITY);
    }
    this.remember(key, record);
    this.scheduler.track(appId, kind, record);
    return this.toTicket(record);
  }

  /**
   * Signs `url` for `wx.config`: a fresh nonce and timestamp, the current jsapi ticket. `url` must be the page's
   * absolute http(s) URL (its `#fragment` is dropped, as the JS-SDK requires).
   */
  async getJsapiSignature(appId: string, url: string): Promise<JsapiSignature> {
    const page = url.split('#')[0] ?? '';
    if (!/^https?:\/\/[^\s/]+/i.test(page))
      throw new TypeError('url must be the absolute http(s) URL of the page');
    const ticket = await this.getTicket(appId, 'jsapi');
    const timestamp = Math.floor(Date.now() / 1000);
    const bytes = randomBytes(16);
    const nonceStr = Array.from(bytes, (b) => NONCE_ALPHABET[b % NONCE_ALPHABET.length]).join('');
    return {
      appId,
      timestamp,
      nonceStr,
      signature: jsapiSignature(ticket.value, nonceStr, timestamp, page),
      url: page,
    };
  }

  /**
   * Refreshes unless the stored ticket has more than `horizonMs` left (default: the refresh-ahead window; infinity
   * = only when none is usable). One per account and type at a time in this process.
   */
  refresh(
    appId: string,
    type: TicketType,
    horizonMs = this.options.refreshAheadMs,
  ): Promise<CredentialRecord> {
    const kind = KINDS[type];
    const key = `${appId}:${kind}`;
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = this.coordinator
        .coordinate<CredentialRecord>(appId, kind, {
          satisfied: (record) =>
            this.coordinator.usable(record) &&
            (horizonMs === Number.POSITIVE_INFINITY ||
              !this.coordinator.needsRefresh(record, Date.now(), horizonMs))
              ? record
              : undefined,
          beforeLock: () => throwIfBackingOff(appId, this.failures.get(key)),
          work: (current) => this.fetchAndSave(appId, type, current),
        })
        .then((record) => {
          this.remember(key, record);
          return record;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    return flight;
  }

  private async fetchAndSave(
    appId: string,
    type: TicketType,
    current: CredentialRecord | null,
  ): Promise<CredentialRecord> {
    const kind = KINDS[type];
    const key = `${appId}:${kind}`;
    const startedAt = Date.now();
    let token = await this.tokens.getAccessToken(appId);
    let fetched;
    try {
      try {
        fetched = await this.fetch(appId, token, type);
      } catch (error) {
        if (!(error instanceof UpstreamTokenError) || !TOKEN_ERRCODES.has(error.errcode ?? 0)) throw error;
        token = (await this.tokens.reportInvalid(appId, token)).value;
        fetched = await this.fetch(appId, token, type);
      }
    } catch (error) {
      throw this.recordFailure(appId, key, type, error);
    }
    this.failures.delete(key);
    const { record, changed } = await this.coordinator.save(
      appId,
      kind,
      current,
      { value: fetched.accessToken, expiresInSeconds: fetched.expiresInSeconds, startedAt },
      { endpoint: this.accounts.getOrThrow(appId).tokenEndpoint, source: 'getticket' },
    );
    if (changed)
      this.logger.log(
        `${type} ticket of ${appId} refreshed: version ${record.version}, ${fetched.expiresInSeconds} s`,
      );
    return record;
  }

  private fetch(
    appId: string,
    token: string,
    type: TicketType,
  ): ReturnType<WechatTokenClient['fetchTicket']> {
    this.store.incrementCounter(appId, chinaDay(Date.now()), `getticket_${type}`).catch(() => undefined);
    return this.client.fetchTicket(token, type);
  }

  private recordFailure(appId: string, key: string, type: TicketType, error: unknown): Error {
    if (error instanceof TokenUnavailableError) return error;
    const upstream =
      error instanceof UpstreamTokenError
        ? error
        : new UpstreamTokenError('network', 'unexpected failure of the ticket call');
    const attempt = (this.failures.get(key)?.attempt ?? 0) + 1;
    const slow =
      upstream.kind === 'configuration' || upstream.kind === 'quota' || upstream.kind === 'rejected';
    const delay = slow ? backoffMs(attempt - 1, 60_000, 30 * 60_000) : backoffMs(attempt - 1, 1_000, 30_000);
    this.failures.set(key, { attempt, retryAt: Date.now() + delay, error: upstream });
    const message = `${type} ticket call for ${appId} failed (attempt ${attempt}): ${upstream.message}; next attempt in ${Math.ceil(delay / 1000)} s`;
    if (slow) this.logger.error(message);
    else this.logger.warn(message);
    return new TokenUnavailableError(
      appId,
      `no ${type} ticket: ${upstream.message}`,
      upstream.errcode,
      delay,
    );
  }

  private remember(key: string, record: CredentialRecord): void {
    if (this.l1.get(key)?.record.value !== record.value) {
      const [appId = '', kind] = key.split(':');
      const type = kind === KINDS.wx_card ? 'wx_card' : 'jsapi';
      for (const listener of this.learnedListeners) listener(appId, type, record.value);
    }
    this.l1.set(key, {
      record,
      checkedUntil: Math.min(
        Date.now() + this.options.l1TtlMs,
        record.expiresAt - Math.max(this.options.refreshAheadMs, this.options.minServeMs),
      ),
    });
  }

  private toTicket(record: CredentialRecord): AccessToken {
    return { value: record.value, version: record.version, expiresAt: new Date(record.expiresAt) };
  }
}
