import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { AccountRegistry } from '../accounts/account-registry';
import { WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { redisPasswords } from '../store/redis-url';
import { TicketService } from '../token/ticket.service';
import { TokenService } from '../token/token.service';
import { SecretScrubber } from './secret-scrubber';

/**
 * Keeps the log scrubber up to date: every access token and ticket this instance learns, the secrets of accounts
 * added or changed by a runtime reload, and the Redis passwords of the configuration. Each source is optional (a host module may lack the token plane); they are
 * subscribed to at construction, before any lifecycle hook can fetch a token.
 */
@Injectable()
export class SecretsFeeder implements OnModuleDestroy {
  private readonly unsubscribes: (() => void)[] = [];

  constructor(
    scrubber: SecretScrubber,
    @Optional() tokens?: TokenService,
    @Optional() tickets?: TicketService,
    @Optional() registry?: AccountRegistry,
    @Optional() @Inject(WXHUB_CONFIG) config?: WxhubConfig,
  ) {
    if (config)
      scrubber.addConfigured({ accounts: [], apiKeys: [], redisPasswords: redisPasswords(config.redis) });
    if (tokens)
      this.unsubscribes.push(
        tokens.onTokenLearned((appId, token) => scrubber.learn(appId, 'access_token', token.value)),
      );
    if (tickets)
      this.unsubscribes.push(
        tickets.onTicketLearned((appId, type, ticket) => scrubber.learn(appId, type, ticket)),
      );
    if (registry) {
      scrubber.addConfigured({ accounts: registry.list(), apiKeys: [] });
      this.unsubscribes.push(
        registry.onReplace((accounts) => scrubber.addConfigured({ accounts, apiKeys: [] })),
      );
    }
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }
}
