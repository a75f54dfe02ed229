import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AdminModule } from '../admin/admin.module';
import { HealthController } from './health.controller';
import { TokenPlaneHealth } from './token-plane.health';

/** `/health`, `/health/live` and `/health/ready`. Needs the (global) token plane; the detail needs an admin key. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), AdminModule],
  controllers: [HealthController],
  providers: [TokenPlaneHealth],
})
export class HealthModule {}
