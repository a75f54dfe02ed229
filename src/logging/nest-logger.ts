import type { LoggerService } from '@nestjs/common';
import { Logger as NestPinoLogger, type PinoLogger } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import type { Logger as PinoInstance } from 'pino';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
/** Nest's module-by-module and route-by-route boot lines: they drown the useful ones (explorer, sandbox, listening). */
const BOOT_CHATTER = new Set<unknown>(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * The Nest logger of an application (what every `new Logger(Context.name)` writes through): nestjs-pino's, writing to
 * the current request's logger (bound by request-logging.ts) when there is one, else to `root`. Unlike nestjs-pino's
 * PinoLogger it holds no process-wide default, so each application writes through its own root.
 */
export function nestLoggerFor(root: PinoInstance): LoggerService {
  const writer = Object.fromEntries(
    LEVELS.map((level) => [
      level,
      (...args: unknown[]) => {
        const current = storage.getStore()?.logger ?? root;
        const context = (args[0] as { context?: unknown } | undefined)?.context;
        const effective = level === 'info' && BOOT_CHATTER.has(context) ? 'debug' : level;
        (current[effective] as (...a: unknown[]) => void)(...args);
      },
    ]),
  );
  return new NestPinoLogger(writer as unknown as PinoLogger, {});
}
