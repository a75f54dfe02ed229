import { Controller, Get, Optional, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { TokenService } from '../token/token.service';
import { MetricsService } from './metrics.service';

/**
 * `GET /metrics`: the Prometheus text exposition. Unauthenticated, like most exporters: it carries no secrets
 * or tokens, but AppIDs and traffic figures, so keep it on the internal network (do not route it publicly).
 */
@Controller('metrics')
@ApiTags('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Optional() private readonly tokens?: TokenService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Unauthenticated text exposition: no secrets or tokens, but AppIDs and traffic figures — scrape it on the ' +
      'internal network. Counters are per process.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format 0.0.4.', schema: { type: 'string' } })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    // the token gauges are read at scrape time, so token reads themselves do no metrics work; from this instance's
    // copies, not the store, so a scrape costs no store read per account
    if (this.tokens) this.metrics.setTokenGauges(await this.tokens.tokenGauges());
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.metrics();
  }
}
