import type { Type } from '@nestjs/common';
import type { ApplicationConfig } from '@nestjs/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';

/**
 * Route config key (`@RouteConfig({ [ROUTE_ON_REQUEST]: SomeProvider })`) naming a provider whose `onRequest`
 * becomes the route's own Fastify onRequest hook. It runs after every global onRequest hook (the host's included)
 * and may answer the request itself — e.g. from memory, synchronously, before guards, pipes and the handler.
 */
export const ROUTE_ON_REQUEST = 'wxhubOnRequest';

/** A provider named by ROUTE_ON_REQUEST: answers with `reply.send`, or calls `done()` to let the route run. */
export interface RouteOnRequest {
  onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
}

/**
 * Whether a route hook may answer before the route runs: not once the application has a global guard or
 * interceptor (a host app's), which must see every request. Asked at `onApplicationBootstrap`, after the host set
 * them up.
 */
export function mayAnswerBeforeRoute(config: ApplicationConfig): boolean {
  return (
    config.getGlobalGuards().length === 0 &&
    config.getGlobalRequestGuards().length === 0 &&
    config.getGlobalInterceptors().length === 0 &&
    config.getGlobalRequestInterceptors().length === 0
  );
}

/**
 * Installs the ROUTE_ON_REQUEST hooks of every route registered from now on, resolving each provider with
 * `resolve` (the application's `get`). Call before the routes are registered (before `init`).
 */
export function installRouteHooks(
  fastify: FastifyInstance,
  resolve: (type: Type<RouteOnRequest>) => RouteOnRequest | undefined,
): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const type = (route.config as Record<string, unknown> | undefined)?.[ROUTE_ON_REQUEST];
    if (typeof type !== 'function') return;
    const provider = resolve(type as Type<RouteOnRequest>);
    if (provider === undefined) return;
    const hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void =>
      provider.onRequest(request, reply, done);
    const existing = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [...existing, hook];
  });
}
