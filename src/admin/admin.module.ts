import { Module } from '@nestjs/common';
import { SandboxModule } from '../sandbox/sandbox.module';
import { OpsRedisModule } from '../store/ops-redis.module';
import { AccountsController } from './accounts.controller';
import { AccountsReloader } from './accounts-reloader';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminAuthenticator } from './admin-authenticator';
import { AuditController } from './audit.controller';
import { CompatController } from './compat.controller';
import { ExchangeController } from './exchange.controller';
import { AuthFailureLimiter } from '../clients/auth-failure-limiter';
import { ClientRegistry } from '../clients/client-registry';
import { WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { ClientsBroadcast } from './clients-broadcast';
import { TokenReadHook } from './token-read.hook';

/**
 * Admin REST (`/api/v1/accounts…`, including the accounts reload and the code exchanges, and `/api/v1/audit`) and the WeChat-compatible
 * token endpoints (`/cgi-bin/…`). The audit log and the rate limits come from the global AuditModule and
 * ThrottleModule when present.
 */
@Module({
  imports: [SandboxModule, OpsRedisModule],
  controllers: [AccountsController, ExchangeController, CompatController, AuditController],
  providers: [
    {
      provide: ClientRegistry,
      inject: [WXHUB_CONFIG],
      useFactory: (config: WxhubConfig) =>
        new ClientRegistry({ adminKeys: config.admin.apiKeys, clients: config.clients }),
    },
    AuthFailureLimiter,
    AccountsReloader,
    ClientsBroadcast,
    AdminAuthGuard,
    AdminAuthenticator,
    TokenReadHook,
  ],
  // the gateway authenticates with the same keys, clients, allow-list and failure limiter
  exports: [AdminAuthenticator, ClientRegistry, AuthFailureLimiter],
})
export class AdminModule {}
