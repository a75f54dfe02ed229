import type { IncomingMessage, ServerResponse } from 'node:http';
import { storage, Store } from 'nestjs-pino/storage';
import type { Logger as PinoLogger } from 'pino';
import { redactUrl } from './redact-url';
import { REQUEST_ID_HEADER, requestIdOf } from './request-context';

/**
 * Request logging for the routes answered straight from Node's HTTP server (ahead of Fastify), as Fastify's request
 * logging does it for the others: the request id (the caller's `X-Request-Id` or a new one) goes back as a header
 * and onto every line written while `handle` runs, with the account; one `request completed` line per request, the
 * URL's credentials redacted, at info (warn for 5xx).
 */
export function runLogged(
  root: PinoLogger,
  request: IncomingMessage,
  response: ServerResponse,
  appId: string,
  handle: () => void,
): void {
  const started = performance.now();
  const reqId = requestIdOf(request);
  response.setHeader(REQUEST_ID_HEADER, reqId);
  const log = root.child({ reqId, appId });
  response.once('finish', () => logCompleted(log, request, response.statusCode, started));
  storage.run(new Store(log), handle);
}

/**
 * The `request completed` line of a request answered ahead of the framework, at info (warn for 5xx). `log` is the
 * request's child logger (which carries the request id and account) or the root logger given both.
 *
 * NOTE: the fields are written out in a fixed shape: spreading an optional object into them made each line about
 * three times as expensive (pino walks the object's keys).
 */
export function logCompleted(
  log: PinoLogger,
  request: IncomingMessage,
  statusCode: number,
  started: number,
  reqId?: string,
  appId?: string,
): void {
  const level = statusCode >= 500 ? 'warn' : 'info';
  if (!log.isLevelEnabled(level)) return;
  const fields = {
    reqId,
    appId,
    method: request.method,
    url: redactUrl(request.url ?? ''),
    statusCode,
    responseTime: Math.round((performance.now() - started) * 10) / 10,
  };
  if (level === 'warn') log.warn(fields, 'request completed');
  else log.info(fields, 'request completed');
}
