import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AccountRegistry } from '../accounts/account-registry';
import { TokenService } from '../token/token.service';

export interface HealthReport {
  status: 'ok' | 'error';
  store: { description: string; status: 'up' | 'down' };
  accounts: Record<string, 'live' | 'refreshing' | 'failing' | 'missing'>;
}

/** The readiness rule: the store answers and every account has a live token or is getting one. */
@Injectable()
export class TokenPlaneHealth {
  constructor(
    private readonly tokens: TokenService,
    private readonly accounts: AccountRegistry,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async report(): Promise<HealthReport> {
    const storeUp = await this.tokens.pingStore().then(
      () => true,
      () => false,
    );
    const entries = await Promise.all(
      this.accounts.list().map(async (a) => [a.appId, await this.tokens.status(a.appId)] as const),
    );
    const healthy = storeUp && entries.every(([, status]) => status === 'live' || status === 'refreshing');
    return {
      status: healthy ? 'ok' : 'error',
      store: { description: this.tokens.storeDescription, status: storeUp ? 'up' : 'down' },
      accounts: Object.fromEntries(entries),
    };
  }

  /** The rule as a terminus indicator. */
  async check(key = 'tokenPlane'): Promise<HealthIndicatorResult> {
    const { status, ...details } = await this.report();
    const session = this.indicators.check(key);
    return status === 'ok' ? session.up(details) : session.down(details);
  }
}
