import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';

/**
 * Route config flag (`@RouteConfig({ [NO_STORE_ROUTE]: true })`) of every route whose answer holds a token, a
 * ticket or a user's session: its answers carry `Cache-Control: no-store`, so that no proxy or client cache keeps
 * them.
 */
export const NO_STORE_ROUTE = 'wxhubNoStore';

/**
 * Sets `Cache-Control: no-store` on every answer of the routes flagged NO_STORE_ROUTE registered from now on.
 * NOTE: set in the route's first onRequest hook, so it is there whatever answers — a hook answering from memory,
 * the controller, or the error filter.
 */
export function installNoStore(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as Record<string, unknown> | undefined)?.[NO_STORE_ROUTE] !== true) return;
    const existing = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [noStore, ...existing];
  });
}

function noStore(_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  void reply.header('cache-control', 'no-store');
  done();
}
