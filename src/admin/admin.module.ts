import { Module } from '@nestjs/common';
import { SandboxModule } from '../sandbox/sandbox.module';
import { AccountsController } from './accounts.controller';
import { AccountsReloader } from './accounts-reloader';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminAuthenticator } from './admin-authenticator';
import { AuditController } from './audit.controller';
import { CompatController } from './compat.controller';
import { ExchangeController } from './exchange.controller';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { TokenReadHook } from './token-read.hook';

/**
 * Admin REST (`/api/v1/accounts…`, including the accounts reload and the code exchanges, and `/api/v1/audit`) and the WeChat-compatible
 * token endpoints (`/cgi-bin/…`). The audit log and the rate limits come from the global AuditModule and
 * ThrottleModule when present.
 */
@Module({
  imports: [SandboxModule],
  controllers: [AccountsController, ExchangeController, CompatController, AuditController],
  providers: [AccountsReloader, AdminAuthGuard, AdminAuthenticator, FailedAuthLimiter, TokenReadHook],
  // the gateway authenticates with the same keys, allow-list and failure limiter
  exports: [AdminAuthenticator],
})
export class AdminModule {}
