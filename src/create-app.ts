import { type DynamicModule, Module, ValidationPipe, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { DomainErrorFilter } from './common/domain-error.filter';
import { installNoStore } from './common/no-store';
import { installRouteHooks } from './common/route-hooks';
import { BODY_LIMIT_BYTES, guardConnections, serverTimeoutOptions } from './common/server-limits';
import { loadWxhubConfig } from './config/wxhub-config';
import { loadedConfigModule } from './config/wxhub-config.module';
import { logDestination } from './logging/log-destination';
import { LoggingModule } from './logging/logging.module';
import { nestLoggerFor } from './logging/nest-logger';
import { registerRequestLogging, requestLoggingServerOptions } from './logging/request-logging';
import { createRootLogger } from './logging/root-logger';
import { SecretScrubber } from './logging/secret-scrubber';
import { TokenReads } from './metrics/token-reads';
import { setupOpenApi } from './docs/openapi';
import { RAW_JSON_BODY } from './wechat-callback/wechat-callback.constants';

/** The root of the application createApp builds: logging next to the caller's module. */
@Module({})
class WxhubApplicationModule {}

/**
 * Builds the configured, not yet listening Fastify application of `rootModule` (AppModule, or a host module
 * that imports it): configuration validated, bounded time to send a request (headers and body) and connections per
 * client, XML bodies (and JSON on WeChat's push route) kept raw, DTO validation, error mapping, shutdown hooks,
 * structured logs (JSON lines at LOG_LEVEL, request ids, secrets redacted). Throws ConfigError (naming each bad
 * field, never a secret) when the configuration is wrong.
 *
 * Every route is a Fastify route (Nest controllers, and the gateway's plugin routes), so what the caller adds
 * before `listen` — `app.setGlobalPrefix()`, a Fastify hook on `app.getHttpAdapter().getInstance()`, a global
 * guard — applies to all of them, the token reads and WeChat's pushes included.
 */
export async function createApp(rootModule: Type<unknown>): Promise<NestFastifyApplication> {
  const config = loadWxhubConfig(process.env);
  const scrubber = new SecretScrubber();
  scrubber.addConfigured({
    accounts: config.accounts,
    apiKeys: [...config.admin.apiKeys, ...config.clientKeys],
  });
  const pretty = config.nodeEnv !== 'production' && process.stdout.isTTY === true;
  const logger = createRootLogger(config.logLevel, logDestination({ scrubber, pretty }));
  const adapter = new FastifyAdapter({
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    ...serverTimeoutOptions(config.http),
    ...requestLoggingServerOptions(logger),
  });
  const entry: DynamicModule = {
    module: WxhubApplicationModule,
    imports: [LoggingModule.forRoot({ logger, scrubber }), loadedConfigModule(config), rootModule],
  };
  // NOTE: the Nest logger is given at creation rather than buffered and swapped in: a boot that fails would flush
  // its buffered lines through Nest's console logger, past the scrubber
  const app = await NestFactory.create<NestFastifyApplication>(entry, adapter, {
    logger: nestLoggerFor(logger),
  });
  const fastify = app.getHttpAdapter().getInstance();
  guardConnections(fastify.server, config.http, config.trustProxy);
  // before init, which registers the routes: their own hooks are attached as they are registered
  installRouteHooks(fastify, (type) => optionalProvider(app, type));
  installNoStore(fastify);
  registerRequestLogging(fastify, optionalProvider(app, TokenReads));
  // signatures are computed over the exact bytes, so XML stays a string; WeChat may also send no content type
  fastify.addContentTypeParser(
    ['text/xml', 'application/xml'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  keepRawJsonOnMarkedRoutes(adapter, fastify);
  // NOTE: closing only drops the connections idle at that moment; one whose request was still running (a push
  // being handled) would stay open for the whole keep-alive timeout (72 s) and hold up the exit
  fastify.addHook('preClose', (done) => {
    fastify.server.keepAliveTimeout = 1;
    done();
  });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainErrorFilter());
  // OpenAPI at /docs: adds routes only (no hook, no parser), so the hot paths do no extra work
  if (config.docs.enabled) setupOpenApi(app);
  // exit 0 once the hooks have run (locks released, in-flight requests answered, Redis closed) instead of
  // re-raising the signal, so a supervisor sees a clean stop; a failing hook still exits 1
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  return app;
}

/**
 * Nest installs its JSON parser during `init`; once it has, the same parser (same prototype-poisoning rules) is put
 * back behind a check of the route's config, so only routes marked RAW_JSON_BODY (WeChat's pushes) get the body as
 * the exact string sent. A host that installed its own JSON parser before init (`app.useBodyParser`) keeps it.
 */
function keepRawJsonOnMarkedRoutes(adapter: FastifyAdapter, fastify: FastifyInstance): void {
  const register = adapter.registerParserMiddleware.bind(adapter);
  adapter.registerParserMiddleware = (prefix?: string, rawBody?: boolean): void => {
    // set once a parser was installed (Nest's, or the host's through useBodyParser): then Nest installs none
    const installed = (adapter as unknown as { _isParserRegistered?: boolean })._isParserRegistered === true;
    register(prefix, rawBody);
    if (installed || rawBody === true) return;
    const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
    const parseJson = fastify.getDefaultJsonParser(
      onProtoPoisoning ?? 'error',
      onConstructorPoisoning ?? 'error',
    );
    fastify.removeContentTypeParser('application/json');
    fastify.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
      (request, body: string, done) => {
        const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
        if (config?.[RAW_JSON_BODY] === true) done(null, body);
        else parseJson(request, body, done);
      },
    );
  };
}

/** A provider of the module graph, or undefined when the root module does not include it. */
function optionalProvider<T>(app: NestFastifyApplication, type: Type<T>): T | undefined {
  try {
    return app.get(type, { strict: false });
  } catch {
    return undefined;
  }
}
