import { ExecutionContext, HttpException, HttpStatus, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { requestActor } from '../audit/request-actor';
import { MetricsService } from '../metrics/metrics.service';
import { throttledCounter } from './rate-limiter';
import {
  InjectWxhubThrottlerOptions,
  InjectWxhubThrottlerStorage,
  LIMITED_ROUTES,
  THROTTLE_SUBJECTS,
  type ThrottleName,
} from './throttle.constants';

/** The named limit of the route `context` handles, if it has one (LIMITED_ROUTES). */
export function routeLimit(context: ExecutionContext): ThrottleName | undefined {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const route = request.routeOptions?.url ?? '';
  // a host app may mount everything under a global prefix
  const at = route.indexOf('/api/v1/');
  return at < 0 ? undefined : LIMITED_ROUTES.get(`${request.method} ${route.slice(at)}`);
}

/**
 * @nestjs/throttler's guard for the limited admin routes (LIMITED_ROUTES); every other route passes untouched.
 * Run by AdminAuthGuard once the key is checked, so a client is its actor id (`client:<name>`, or `key#…` for an
 * admin key), and keys are `<limit>:<client>` so every instance counts into one shared bucket. A refusal is a 429
 * `{statusCode, error, message}` with `Retry-After` (seconds).
 */
@Injectable()
export class RouteThrottler extends ThrottlerGuard {
  private readonly refused: Counter<'limit'> | undefined;

  constructor(
    @InjectWxhubThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectWxhubThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Optional() metrics?: MetricsService,
  ) {
    super(options, storage, reflector);
    this.refused = metrics ? throttledCounter(metrics) : undefined;
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(routeLimit(context) === undefined);
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    return Promise.resolve(requestActor(request as unknown as FastifyRequest).id);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const name = routeLimit(context) ?? 'force-refresh';
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    void context.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(retryAfter));
    this.refused?.labels(name).inc();
    throw new HttpException(
      `too many ${THROTTLE_SUBJECTS[name]} from ${detail.tracker}: at most ${detail.limit} per ` +
        `${Math.round(detail.ttl / 1000)} s; retry in ${retryAfter} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
