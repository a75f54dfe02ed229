import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type DynamicModule, Module, ValidationPipe, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyServerFactoryHandler, FastifyServerOptions } from 'fastify';
import { TokenReadHttpHandler } from './admin/token-read.http-handler';
import { clientIpResolver } from './common/client-ip';
import { DomainErrorFilter } from './common/domain-error.filter';
import { loadWxhubConfig } from './config/wxhub-config';
import { loadedConfigModule } from './config/wxhub-config.module';
import { logDestination } from './logging/log-destination';
import { LoggingModule } from './logging/logging.module';
import { nestLoggerFor } from './logging/nest-logger';
import { registerRequestLogging, requestLoggingServerOptions } from './logging/request-logging';
import { createRootLogger } from './logging/root-logger';
import { SecretScrubber } from './logging/secret-scrubber';
import { setupOpenApi } from './docs/openapi';
import {
  CALLBACK_BODY_LIMIT_BYTES,
  WechatCallbackHttpHandler,
} from './wechat-callback/wechat-callback.http-handler';

/** WeChat's callbacks are small; a larger body is refused with 413 before anything parses it. */
export const BODY_LIMIT_BYTES = CALLBACK_BODY_LIMIT_BYTES;

/** The root of the application createApp builds: logging next to the caller's module. */
@Module({})
class WxhubApplicationModule {}

/**
 * Builds the configured, not yet listening Fastify application of `rootModule` (AppModule, or a host module
 * that imports it): configuration validated, XML bodies kept raw, DTO validation, error mapping, shutdown hooks,
 * structured logs (JSON lines at LOG_LEVEL, request ids, secrets redacted). Throws ConfigError (naming each bad
 * field, never a secret) when the configuration is wrong.
 */
export async function createApp(rootModule: Type<unknown>): Promise<NestFastifyApplication> {
  const config = loadWxhubConfig(process.env);
  const scrubber = new SecretScrubber();
  scrubber.addConfigured({ accounts: config.accounts, apiKeys: config.admin.apiKeys });
  const pretty = config.nodeEnv !== 'production' && process.stdout.isTTY === true;
  const logger = createRootLogger(config.logLevel, logDestination({ scrubber, pretty }));
  // the hot paths — WeChat's pushes and the token reads of every client — are answered by their own handlers ahead of
  // the framework (attached below, once the module graph exists); everything else goes to Fastify and Nest
  const lanes: { callbacks?: WechatCallbackHttpHandler; tokenReads?: TokenReadHttpHandler } = {};
  const adapter = new FastifyAdapter({
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    ...requestLoggingServerOptions(logger),
    serverFactory: (handler: FastifyServerFactoryHandler, options: FastifyServerOptions) => {
      const server = createServer((request: IncomingMessage, response: ServerResponse) => {
        if (lanes.callbacks?.tryHandle(request, response) === true) return;
        if (lanes.tokenReads?.tryHandle(request, response) === true) return;
        handler(request, response);
      });
      // the settings Fastify applies to a server it creates itself
      server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
      server.requestTimeout = options.requestTimeout ?? 0;
      server.setTimeout(options.connectionTimeout ?? 0);
      if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
      return server;
    },
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
  registerRequestLogging(fastify);
  // signatures are computed over the exact bytes, so XML stays a string; WeChat may also send no content type
  fastify.addContentTypeParser(
    ['text/xml', 'application/xml'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  // NOTE: closing only drops the connections idle at that moment; one whose request was still running (a push
  // being handled) would stay open for the whole keep-alive timeout (72 s) and hold up the exit
  fastify.addHook('preClose', (done) => {
    lanes.callbacks?.close();
    lanes.tokenReads?.close();
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
  lanes.callbacks = optionalProvider(app, WechatCallbackHttpHandler);
  lanes.callbacks?.useLogger(logger);
  lanes.tokenReads = optionalProvider(app, TokenReadHttpHandler);
  lanes.tokenReads?.configure(clientIpResolver(config.trustProxy), logger);
  return app;
}

/** A provider of the module graph, or undefined when the root module does not include it. */
function optionalProvider<T>(app: NestFastifyApplication, type: Type<T>): T | undefined {
  try {
    return app.get(type, { strict: false });
  } catch {
    return undefined;
  }
}
