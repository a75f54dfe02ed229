import { Module } from '@nestjs/common';
import { SandboxModule } from '../sandbox/sandbox.module';
import { AccountsController } from './accounts.controller';
import { AccountsReloader } from './accounts-reloader';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminAuthenticator } from './admin-authenticator';
import { CompatController } from './compat.controller';
import { FailedAuthLimiter } from './failed-auth-limiter';

/** Admin REST (`/api/v1/accounts…`, including the accounts reload) and the WeChat-compatible token endpoints (`/cgi-bin/…`). */
@Module({
  imports: [SandboxModule],
  controllers: [AccountsController, CompatController],
  providers: [AccountsReloader, AdminAuthGuard, AdminAuthenticator, FailedAuthLimiter],
  // the gateway authenticates with the same keys, allow-list and failure limiter
  exports: [AdminAuthenticator],
})
export class AdminModule {}
