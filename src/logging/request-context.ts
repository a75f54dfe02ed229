import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The request header that carries a request id in, and back out on the response. */
export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const APP_ID = /^wx[0-9a-zA-Z]{16}$/;
const APP_ID_IN_PATH = /\/(?:wechat|gateway|api\/v1\/accounts)\/([^/?#]+)/;
const APP_ID_IN_QUERY = /[?&]appid=([^&#]*)/i;

/**
 * The id of a request: the caller's `X-Request-Id` when it is a plain token of at most 128 characters (letters,
 * digits and `._:@/+=-`, so it cannot forge log fields or lines), otherwise a new UUID.
 */
export function requestIdOf(request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value !== undefined && ACCEPTED_REQUEST_ID.test(value) ? value : randomUUID();
}

/**
 * The account a request is about, read from its URL: `/wechat/:appId`, `/gateway/:appId/…`,
 * `/api/v1/accounts/:appId/…`, or the `appid` query parameter (`/cgi-bin/token`), under any global prefix. Only
 * well-formed AppIDs count.
 */
export function appIdOfUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const inPath = APP_ID_IN_PATH.exec(path)?.[1];
  if (inPath !== undefined) return APP_ID.test(inPath) ? inPath : undefined;
  if (!path.includes('/cgi-bin/')) return undefined;
  const inQuery = APP_ID_IN_QUERY.exec(url)?.[1];
  return inQuery !== undefined && APP_ID.test(inQuery) ? inQuery : undefined;
}
