import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { TokenPlaneHealth } from './token-plane.health';

/** `/health`, `/health/live` and `/health/ready`. Needs the (global) token plane. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [TokenPlaneHealth],
})
export class HealthModule {}
