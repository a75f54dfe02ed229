import { createHash, randomBytes } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import type { CredentialRecord } from '../store/token-store';
import { CredentialEngines, type AccessToken, type CredentialEngine } from './credential-engine';
import { ticketKind, type TicketType } from './ticket.kinds';
import { TokenService } from './token.service';
import { WechatTokenClient } from './wechat-token-client';

export type { TicketType } from './ticket.kinds';

/** What a page needs for `wx.config({ appId, timestamp, nonceStr, signature, jsApiList })`. */
export interface JsapiSignature {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  /** The URL that was signed (without its `#fragment`). */
  url: string;
}

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
 * JS-SDK tickets (`jsapi`, `wx_card`), two credential kinds on the same engine as the access token: one shared
 * record per account and type, single-flight and a lease lock across instances, compare-and-set writes, an
 * in-process copy dropped on change, refresh ahead of expiry on a schedule from the first use. A ticket call
 * refused for its access_token repairs the token (compare-and-refresh) and is retried once.
 */
@Injectable()
export class TicketService implements OnModuleDestroy {
  private readonly logger = new Logger(TicketService.name);
  private readonly engines: Record<TicketType, CredentialEngine>;
  private readonly unsubscribe: (() => void)[];
  private readonly learnedListeners = new Set<(appId: string, type: TicketType, ticket: string) => void>();

  constructor(
    engines: CredentialEngines,
    tokens: TokenService,
    client: WechatTokenClient,
    private readonly accounts: AccountRegistry,
  ) {
    const define = (type: TicketType): CredentialEngine =>
      engines.create(ticketKind(type, { client, accounts, tokens }), { logger: this.logger });
    this.engines = { jsapi: define('jsapi'), wx_card: define('wx_card') };
    this.unsubscribe = (Object.keys(this.engines) as TicketType[]).map((type) =>
      this.engines[type].onHeld((appId, held, previous) => {
        if (previous?.value === held.record.value) return;
        for (const listener of this.learnedListeners) listener(appId, type, held.record.value);
      }),
    );
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  /** Calls `listener` with each ticket this instance comes to hold (the logs scrub them). Returns the unsubscribe. */
  onTicketLearned(listener: (appId: string, type: TicketType, ticket: string) => void): () => void {
    this.learnedListeners.add(listener);
    return () => this.learnedListeners.delete(listener);
  }

  /** The current ticket of `type` for `appId`. Throws TokenUnavailableError when none can be had in time. */
  async getTicket(appId: string, type: TicketType = 'jsapi'): Promise<AccessToken> {
    this.accounts.getOrThrow(appId);
    return (await this.engines[type].get(appId)).token;
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
  refresh(appId: string, type: TicketType, horizonMs?: number): Promise<CredentialRecord> {
    return this.engines[type].refresh(appId, horizonMs);
  }
}
