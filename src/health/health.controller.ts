import { Controller, Get, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminAuthenticator } from '../admin/admin-authenticator';
import { HealthCheckResultDto, HealthReportDto } from './health-report.dto';
import { TokenPlaneHealth, type HealthReport } from './token-plane.health';

export type { HealthReport } from './token-plane.health';

/**
 * `GET /health`: 200 when the store answers and every account has a live token or is getting one; 503 otherwise.
 * `GET /health/live` (liveness: the process answers, nothing else is checked) and `GET /health/ready`
 * (readiness: the same rule as `/health`) are for orchestrators' probes.
 *
 * Anyone gets the status (probes need nothing more); the detail — the store's address, every AppID and its
 * state — only a caller with an admin API key (`Authorization: Bearer`). A wrong key gets the public answer and
 * counts as a failed authentication, as on the admin API.
 */
@Controller('health')
@ApiTags('health')
export class HealthController {
  constructor(
    private readonly tokenPlane: TokenPlaneHealth,
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly authenticator: AdminAuthenticator,
  ) {}

  /** The caller presented a valid admin API key. */
  private detailed(request: FastifyRequest): boolean {
    if (request.headers.authorization === undefined) return false;
    try {
      this.authenticator.authenticate(request.ip, request.headers.authorization, 'the health detail');
      return true;
    } catch {
      return false;
    }
  }

  @Get()
  @ApiOperation({
    summary: 'Health: the store and every account',
    description:
      'Public: 200 when the store answers and every account has a live token or is getting one, with the status ' +
      'only. The store and per-account detail need an admin API key (Authorization: Bearer).',
  })
  @ApiOkResponse({ type: HealthReportDto, description: 'Healthy.' })
  @ApiServiceUnavailableResponse({
    type: HealthReportDto,
    description: 'The store is down or an account has no token.',
  })
  async report(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthReport | Pick<HealthReport, 'status'>> {
    const report = await this.tokenPlane.report();
    void reply.status(report.status === 'ok' ? 200 : 503);
    return this.detailed(request) ? report : { status: report.status };
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
    description:
      'Public: the rule of /health, status only. With an admin API key (Authorization: Bearer), the terminus ' +
      'format with per-indicator details.',
  })
  @ApiOkResponse({ type: HealthCheckResultDto, description: 'Ready.' })
  @ApiServiceUnavailableResponse({ type: HealthCheckResultDto, description: 'Not ready.' })
  @HealthCheck()
  async ready(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult | Pick<HealthCheckResult, 'status'>> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.tokenPlane.check()]);
    } catch (error) {
      // answered here, not by the global filter, which would drop terminus's per-indicator details
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      result = error.getResponse() as HealthCheckResult;
    }
    return this.detailed(request) ? result : { status: result.status };
  }
}
