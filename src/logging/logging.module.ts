import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { SecretScrubber } from './secret-scrubber';
import { SecretsFeeder } from './secrets-feeder';

/** What createApp built before the application: the root pino logger and the scrubber its destination uses. */
export interface LoggingModuleOptions {
  logger: PinoInstance;
  scrubber: SecretScrubber;
}

/**
 * Structured logging for the application createApp builds: nestjs-pino's `PinoLogger` / `Logger` injectable anywhere
 * (bound to the current request's logger), and the scrubber fed with every token the hub learns.
 */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingModuleOptions): DynamicModule {
    return {
      module: LoggingModule,
      global: true,
      imports: [
        // NOTE: useExisting: the request loggers are Fastify's (see request-logging.ts); no pino-http middleware
        LoggerModule.forRoot({ pinoHttp: { logger: options.logger }, useExisting: true, forRoutes: [] }),
      ],
      providers: [{ provide: SecretScrubber, useValue: options.scrubber }, SecretsFeeder],
      exports: [SecretScrubber],
    };
  }
}
