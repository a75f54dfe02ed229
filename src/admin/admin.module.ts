import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller';
import { AdminAuthGuard } from './admin-auth.guard';
import { CompatController } from './compat.controller';
import { FailedAuthLimiter } from './failed-auth-limiter';

/** Admin REST (`/api/v1/accounts…`) and the WeChat-compatible token endpoints (`/cgi-bin/…`). */
@Module({
  controllers: [AccountsController, CompatController],
  providers: [AdminAuthGuard, FailedAuthLimiter],
})
export class AdminModule {}
