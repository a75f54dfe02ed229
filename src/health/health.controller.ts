import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { HealthCheckResultDto, HealthReportDto } from './health-report.dto';
import { TokenPlaneHealth, type HealthReport } from './token-plane.health';

export type { HealthReport } from './token-plane.health';

/**
 * `GET /health`: 200 when the store answers and every account has a live token or is getting one; 503 otherwise.
 * `GET /health/live` (liveness: the process answers, nothing else is checked) and `GET /health/ready`
 * (readiness: the same rule as `/health`) are for orchestrators' probes.
 */
@Controller('health')
@ApiTags('health')
export class HealthController {
  constructor(
    private readonly tokenPlane: TokenPlaneHealth,
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Health: the store and every account',
    description:
      'Unauthenticated. 200 when the store answers and every account has a live token or is getting one.',
  })
  @ApiOkResponse({ type: HealthReportDto, description: 'Healthy.' })
  @ApiServiceUnavailableResponse({
    type: HealthReportDto,
    description: 'The store is down or an account has no token.',
  })
  async report(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.tokenPlane.report();
    void reply.status(report.status === 'ok' ? 200 : 503);
    return report;
  }

  /** Never depends on Redis or WeChat: a restart would not fix them. Answering at all proves the event loop runs. */
  @Get('live')
  @ApiOperation({
    summary: 'Liveness probe',
    description: 'Unauthenticated. 200 as long as the process serves requests, whatever Redis or WeChat do.',
  })
  @ApiOkResponse({ type: HealthCheckResultDto, description: 'Alive.' })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicators.check('process').up({ uptimeSeconds: Math.floor(process.uptime()) }),
    ]);
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness probe',
    description: 'Unauthenticated. The rule of /health, in the terminus format with per-indicator details.',
  })
  @ApiOkResponse({ type: HealthCheckResultDto, description: 'Ready.' })
  @ApiServiceUnavailableResponse({ type: HealthCheckResultDto, description: 'Not ready.' })
  @HealthCheck()
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.tokenPlane.check()]);
    } catch (error) {
      // answered here, not by the global filter, which would drop terminus's per-indicator details
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
