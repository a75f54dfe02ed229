import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AccountRegistry } from '../accounts/account-registry';
import { TokenService } from '../token/token.service';

export interface HealthReport {
  status: 'ok' | 'error';
  store: { description: string; status: 'up' | 'down' };
  accounts: Record<string, 'live' | 'refreshing' | 'failing' | 'missing'>;
}

/** 200 when the store answers and every account has a live token or is getting one; 503 otherwise. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly tokens: TokenService,
    private readonly accounts: AccountRegistry,
  ) {}

  @Get()
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const storeUp = await this.tokens.pingStore().then(
      () => true,
      () => false,
    );
    const entries = await Promise.all(
      this.accounts.list().map(async (a) => [a.appId, await this.tokens.status(a.appId)] as const),
    );
    const healthy = storeUp && entries.every(([, status]) => status === 'live' || status === 'refreshing');
    void reply.status(healthy ? 200 : 503);
    return {
      status: healthy ? 'ok' : 'error',
      store: { description: this.tokens.storeDescription, status: storeUp ? 'up' : 'down' },
      accounts: Object.fromEntries(entries),
    };
  }
}
