import {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';
import type { IncomingMessage } from 'node:http';
import { storage, Store } from 'nestjs-pino/storage';
import type { Logger as PinoInstance } from 'pino';
import { requestActor, requestPrincipal } from '../audit/request-actor';
import type { TokenReads } from '../metrics/token-reads';
import { redactUrl } from './redact-url';
import { appIdOfUrl, REQUEST_ID_HEADER, requestIdOf } from './request-context';

/**
 * Route config flag (`@RouteConfig({ [TOKEN_READ_ROUTE]: true })`) of the routes that hand out a token or ticket:
 * a successful answer is counted (TokenReads) instead of logged; a failure or refusal is logged as usual.
 */
export const TOKEN_READ_ROUTE = 'wxhubTokenRead';

declare module 'fastify' {
  interface FastifyRequest {
    /** The pattern of the token-read route that took the request (TOKEN_READ_ROUTE), else null. */
    wxhubReadRoute: string | null;
    /** Who read, when a route hook answered before the admin guard ran (`key#…`), else null. */
    wxhubReader: string | null;
  }
}

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
    childLoggerFactory: (parent, bindings, options, request) =>
      new LazyRequestLogger(parent, bindings, options, request.url) as unknown as FastifyBaseLogger,
  };
}

type LogMethod = (...args: unknown[]) => void;

/**
 * A request's child logger (request id, and the account named in the URL), made on first use: most requests that
 * succeed write nothing but their last line, and a token read answered from memory writes none, while a pino child
 * serializes its bindings when it is made.
 */
class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: object,
    private readonly url: string | undefined,
  ) {}

  private get logger(): FastifyBaseLogger {
    if (this.made === undefined) {
      const appId = appIdOfUrl(this.url);
      this.made = this.parent.child(
        appId === undefined ? this.bindings : { ...this.bindings, appId },
        this.options,
      );
    }
    return this.made;
  }

  get level(): string {
    return this.logger.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  child(bindings: Record<string, unknown>, options?: object): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }

  /** Asks the parent while the child is not made (and has no level of its own): no child for a dropped line. */
  isLevelEnabled(level: string): boolean {
    if (this.made === undefined && !('level' in this.options)) {
      return (this.parent as unknown as PinoInstance).isLevelEnabled(level);
    }
    return (this.logger as unknown as PinoInstance).isLevelEnabled(level);
  }

  /**
   * One line with `fields`: through the child once it is made, else through the parent with the child's bindings
   * first — the same JSON, without making a child for a request whose only line this is.
   */
  line(level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    if (this.made !== undefined || Object.keys(this.options).length > 0) {
      (this.logger[level] as LogMethod)(fields, msg);
      return;
    }
    const appId = appIdOfUrl(this.url);
    (this.parent[level] as LogMethod)(
      appId === undefined ? { ...this.bindings, ...fields } : { ...this.bindings, appId, ...fields },
      msg,
    );
  }

  silent(): void {}

  trace(...args: unknown[]): void {
    if (this.isLevelEnabled('trace')) (this.logger.trace as LogMethod)(...args);
  }

  debug(...args: unknown[]): void {
    if (this.isLevelEnabled('debug')) (this.logger.debug as LogMethod)(...args);
  }

  info(...args: unknown[]): void {
    if (this.isLevelEnabled('info')) (this.logger.info as LogMethod)(...args);
  }

  warn(...args: unknown[]): void {
    if (this.isLevelEnabled('warn')) (this.logger.warn as LogMethod)(...args);
  }

  error(...args: unknown[]): void {
    if (this.isLevelEnabled('error')) (this.logger.error as LogMethod)(...args);
  }

  fatal(...args: unknown[]): void {
    if (this.isLevelEnabled('fatal')) (this.logger.fatal as LogMethod)(...args);
  }
}

/**
 * Request logging on the Fastify instance, for every route (Nest controllers and plugin routes alike, under any
 * prefix): the request id goes back as `X-Request-Id`; every log line written while the request is handled carries
 * it (nestjs-pino's async-local logger is bound after the body is read, since a body read in between would lose a
 * context set earlier); one `request completed` line per request with method, redacted URL, status and duration —
 * except a successful token read, which `reads` counts instead (TOKEN_READ_ROUTE).
 *
 * NOTE: a request answered by a route's own onRequest hook (the token read from memory) never reaches preHandler,
 * so it creates no async context: on Node 20 each one makes every later promise of the process dearer.
 */
export function registerRequestLogging(fastify: FastifyInstance, reads?: TokenReads): void {
  fastify.decorateRequest('wxhubReadRoute', null);
  fastify.decorateRequest('wxhubReader', null);
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as Record<string, unknown> | undefined)?.[TOKEN_READ_ROUTE] !== true) return;
    const pattern = route.url;
    const mark = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
      request.wxhubReadRoute = pattern;
      done();
    };
    route.onRequest = [mark, ...asArray(route.onRequest)];
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  fastify.addHook('preHandler', (request, _reply, done) => {
    bindAccountFromBody(request);
    inRequestLogContext(request, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const readRoute = request.wxhubReadRoute;
    if (readRoute !== null && reads !== undefined && reply.statusCode < 400) {
      const appId = (request.params as { appId?: string } | undefined)?.appId ?? '';
      const principal = requestPrincipal(request);
      reads.count(
        readRoute,
        appId,
        request.wxhubReader ?? requestActor(request).id,
        principal?.name ?? 'none',
      );
      done();
      return;
    }
    const level = isQuiet(request.url) ? 'debug' : reply.statusCode >= 500 ? 'warn' : 'info';
    // the URL's redaction costs more than the check; a dropped line needs neither
    if (!(request.log as unknown as PinoInstance).isLevelEnabled(level)) {
      done();
      return;
    }
    const principal = requestPrincipal(request);
    const fields = {
      method: request.method,
      // who: the client's name and its key's fingerprint, never the key
      ...(principal ? { client: principal.name, keyId: principal.keyId } : {}),
      url: redactUrl(request.url),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
    };
    const log: unknown = request.log;
    if (log instanceof LazyRequestLogger) log.line(level, fields, 'request completed');
    else request.log[level](fields, 'request completed');
    done();
  });
}

/** A probe or scrape, under whatever prefix the host mounted the service. */
function isQuiet(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  for (const quiet of QUIET_PATHS) if (path.endsWith(quiet)) return true;
  return false;
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * Runs `work` so that every log line written from it (and from what it awaits) carries the request's id and account:
 * what the preHandler hook does for every route, for a route hook that answers the request before preHandler.
 */
export function inRequestLogContext(request: FastifyRequest, work: () => void): void {
  storage.run(new Store(request.log as PinoInstance), work);
}

/** `POST /cgi-bin/stable_token` names its account in the body, not the URL. */

function bindAccountFromBody(request: FastifyRequest): void {
  if (!request.url.includes('/cgi-bin/') || appIdOfUrl(request.url) !== undefined) return;
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
