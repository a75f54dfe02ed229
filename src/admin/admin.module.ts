import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminAuthenticator } from './admin-authenticator';
import { CompatController } from './compat.controller';
import { FailedAuthLimiter } from './failed-auth-limiter';

/** Admin REST (`/api/v1/accounts…`) and the WeChat-compatible token endpoints (`/cgi-bin/…`). */
@Module({
  controllers: [AccountsController, CompatController],
  providers: [AdminAuthGuard, AdminAuthenticator, FailedAuthLimiter],
  // the gateway authenticates with the same keys, allow-list and failure limiter
  exports: [AdminAuthenticator],
})
export class AdminModule {}
