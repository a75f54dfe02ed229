import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { TokenReads } from './token-reads';

/**
 * Prometheus metrics at `GET /metrics`. Global: the token plane and the callback plane record into
 * `MetricsService` when this module is present and skip it when it is not. TokenReads counts successful token
 * reads (which are not logged one line each).
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, TokenReads],
  exports: [MetricsService, TokenReads],
})
export class MetricsModule {}
