import { Injectable, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AccountRegistry } from '../accounts/account-registry';
import { TicketService } from '../token/ticket.service';
import { TokenService } from '../token/token.service';
import { SecretScrubber } from './secret-scrubber';

/**
 * Keeps the log scrubber up to date: every access token and ticket this instance learns, and the secrets of accounts
 * added or changed by a runtime reload. Each source is optional (a host module may lack the token plane).
 */
@Injectable()
export class SecretsFeeder implements OnModuleInit, OnModuleDestroy {
  private readonly unsubscribes: (() => void)[] = [];

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly scrubber: SecretScrubber,
  ) {}

  onModuleInit(): void {
    const tokens = this.find(TokenService);
    if (tokens)
      this.unsubscribes.push(
        tokens.onTokenLearned((appId, token) => this.scrubber.learn(appId, 'access_token', token.value)),
      );
    const tickets = this.find(TicketService);
    if (tickets)
      this.unsubscribes.push(
        tickets.onTicketLearned((appId, type, ticket) => this.scrubber.learn(appId, type, ticket)),
      );
    const registry = this.find(AccountRegistry);
    if (registry) {
      this.scrubber.addConfigured({ accounts: registry.list(), apiKeys: [] });
      this.unsubscribes.push(
        registry.onReplace((accounts) => this.scrubber.addConfigured({ accounts, apiKeys: [] })),
      );
    }
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }

  private find<T>(type: Type<T>): T | undefined {
    try {
      return this.moduleRef.get(type, { strict: false });
    } catch {
      return undefined;
    }
  }
}
