import { Inject } from '@nestjs/common';
import type { ThrottleConfig } from '../config/wxhub-config';

/**
 * The ThrottlerStorage (the @nestjs/throttler contract) of wxhub's rate limits.
 *
 * NOTE: not @nestjs/throttler's own `ThrottlerStorage` token nor its global ThrottlerModule: a host app that
 * imports AppModule may run its own ThrottlerModule, and two global providers of one token would shadow each other.
 */
export const WXHUB_THROTTLER_STORAGE = Symbol('WxhubThrottlerStorage');
export const InjectWxhubThrottlerStorage = (): ParameterDecorator => Inject(WXHUB_THROTTLER_STORAGE);

/** The @nestjs/throttler options (named throttlers) of RouteThrottler. */
export const WXHUB_THROTTLER_OPTIONS = Symbol('WxhubThrottlerOptions');
export const InjectWxhubThrottlerOptions = (): ParameterDecorator => Inject(WXHUB_THROTTLER_OPTIONS);

/** The named limits. Each counts per client (API key id, else address) and per window. */
export type ThrottleName = 'force-refresh' | 'invalid-report' | 'reload' | 'audit-read' | 'failed-auth';

/** Which ThrottleConfig field holds the limit of each name. */
export const THROTTLE_LIMIT_FIELDS: Readonly<
  Record<ThrottleName, keyof Omit<ThrottleConfig, 'windowSeconds'>>
> = {
  'force-refresh': 'forceRefresh',
  'invalid-report': 'invalidReports',
  reload: 'reload',
  'audit-read': 'auditReads',
  'failed-auth': 'failedAuth',
};

/** What a refused client was doing, for the 429 message. */
export const THROTTLE_SUBJECTS: Readonly<Record<ThrottleName, string>> = {
  'force-refresh': 'forced refreshes',
  'invalid-report': 'invalid-token reports',
  reload: 'account reloads',
  'audit-read': 'audit log reads',
  'failed-auth': 'failed authentications',
};

/**
 * The routes that are limited, as `METHOD route-pattern`. Nothing else is: token reads (`GET …/token`, the
 * `/cgi-bin/token` drop-ins, tickets, jsapi-signature) are every client's hot path, callbacks are WeChat's, and the
 * gateway carries the fleet's normal traffic. The compat `force_refresh` is limited in CompatController (its answer
 * is WeChat-shaped), failed authentications in AuthFailureLimiter.
 */
export const LIMITED_ROUTES: ReadonlyMap<string, ThrottleName> = new Map([
  ['POST /api/v1/accounts/:appId/token/refresh', 'force-refresh'],
  ['POST /api/v1/accounts/:appId/token/invalid', 'invalid-report'],
  ['POST /api/v1/accounts/reload', 'reload'],
  ['GET /api/v1/audit', 'audit-read'],
]);
