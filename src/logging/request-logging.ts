import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { storage, Store } from 'nestjs-pino/storage';
import type { Logger as PinoInstance } from 'pino';
import { redactUrl } from './redact-url';
import { appIdOfUrl, REQUEST_ID_HEADER, requestIdOf } from './request-context';

/** Probed every few seconds by orchestrators and scrapers: their completion lines are logged at debug only. */
const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);
const APP_ID = /^wx[0-9a-zA-Z]{16}$/;

/**
 * Fastify's request logging minus its two lines per request (the onResponse hook below writes one) and its "route not
 * found" line (which quotes the raw URL; the request line has the status); its error lines are kept.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(): void {}
  override routeNotFound(): void {}
}

/** Fastify server options that give every request its id and a child logger bound to it (and to its account). */
export function requestLoggingServerOptions(logger: PinoInstance): {
  loggerInstance: FastifyBaseLogger;
  logController: LogController;
  genReqId: (request: IncomingMessage) => string;
  childLoggerFactory: (
    logger: FastifyBaseLogger,
    bindings: Record<string, unknown>,
    options: object,
    request: IncomingMessage,
  ) => FastifyBaseLogger;
} {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new OneLinePerRequest({ requestIdLogLabel: 'reqId' }),
    genReqId: requestIdOf,
    childLoggerFactory: (parent, bindings, options, request) => {
      const appId = appIdOfUrl(request.url);
      return parent.child(appId === undefined ? bindings : { ...bindings, appId }, options);
    },
  };
}

/**
 * Request logging on the Fastify instance: the request id goes back as `X-Request-Id`; every log line written while
 * the request is handled carries it (nestjs-pino's async-local logger is bound after the body is read, since a body
 * read in between would lose a context set earlier); one line per completed request with method, redacted URL,
 * status and duration.
 */
export function registerRequestLogging(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  fastify.addHook('preHandler', (request, _reply, done) => {
    bindAccountFromBody(request);
    storage.run(new Store(request.log as PinoInstance), done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const path = request.url.split('?', 1)[0] ?? '';
    const level = QUIET_PATHS.has(path) ? 'debug' : reply.statusCode >= 500 ? 'warn' : 'info';
    request.log[level](
      {
        method: request.method,
        url: redactUrl(request.url),
        statusCode: reply.statusCode,
        responseTime: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });
}

/** `POST /cgi-bin/stable_token` names its account in the body, not the URL. */
function bindAccountFromBody(request: FastifyRequest): void {
  if (!request.url.startsWith('/cgi-bin/') || appIdOfUrl(request.url) !== undefined) return;
  let body: unknown = request.body;
  if (typeof body === 'string' && body.length < 4096 && body.startsWith('{')) {
    try {
      body = JSON.parse(body);
    } catch {
      return;
    }
  }
  const appId = (body as { appid?: unknown } | null | undefined)?.appid;
  if (typeof appId === 'string' && APP_ID.test(appId)) request.log = request.log.child({ appId });
}
