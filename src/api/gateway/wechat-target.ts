import { GATEWAY_PATH_PREFIXES, TOKEN_PATHS } from './gateway.constants';

/** Where a forwarded call goes: a WeChat path and its query, the client's access_token taken out. */
export interface WechatTarget {
  /** e.g. `/cgi-bin/message/custom/send`, as the client wrote it. */
  path: string;
  /** The query's `name=value` parts in the client's order and encoding, without any `access_token`. */
  queryParts: string[];
  /** The first `access_token` the client sent (decoded), if any. */
  accessToken: string | undefined;
}

// Plain segments only: no empty, dot or percent-encoded segment can climb out of the allowed path families.
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+$/;
const ACCESS_TOKEN = 'access_token';

/** Takes the access_token out of a raw query string, keeping the other parts as the client wrote them. */
export function parseTarget(path: string, query: string): WechatTarget {
  const queryParts: string[] = [];
  let accessToken: string | undefined;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryComponent(eq === -1 ? part : part.slice(0, eq));
    if (name === ACCESS_TOKEN) {
      accessToken ??= decodeQueryComponent(eq === -1 ? '' : part.slice(eq + 1)) || undefined;
      continue;
    }
    queryParts.push(part);
  }
  return { path, queryParts, accessToken };
}

/** `/a/b?c` → `['/a/b', 'c']`. */
export function splitUrl(rawUrl: string): [path: string, query: string] {
  const mark = rawUrl.indexOf('?');
  return mark === -1 ? [rawUrl, ''] : [rawUrl.slice(0, mark), rawUrl.slice(mark + 1)];
}

/** The path is made of plain segments (letters, digits, `_`, `-`, inner dots) under `/`. */
export function isPlainPath(path: string): boolean {
  return PLAIN_PATH.test(path);
}

/**
 * Why the gateway refuses to forward to `path`, or undefined when it may: only plain paths under the API
 * families in GATEWAY_PATH_PREFIXES, never the token endpoints.
 */
export function gatewayRefusal(path: string): string | undefined {
  if (!isPlainPath(path)) return `"${path}" is not a plain WeChat API path`;
  if (isTokenPath(path)) {
    return `${path} is not forwarded: get tokens from the hub (/api/v1/accounts/:appId/token or the /cgi-bin/token drop-in)`;
  }
  if (!GATEWAY_PATH_PREFIXES.some((prefix) => path.startsWith(prefix))) {
    return `only WeChat API paths under ${GATEWAY_PATH_PREFIXES.join(', ')} are forwarded`;
  }
  return undefined;
}

/**
 * The path names a token endpoint however it is spelt: WeChat's front end is not documented to be case- or
 * dot-exact, so segments are compared lower-cased and without trailing dots or slashes (`/cgi-bin/Token`,
 * `/cgi-bin/token.`, `/cgi-bin/token/` are all token paths).
 */
export function isTokenPath(path: string): boolean {
  const canonical = path
    .split('/')
    .map((segment) => segment.toLowerCase().replace(/\.+$/, ''))
    .filter((segment) => segment !== '')
    .join('/');
  return TOKEN_PATHS.has(`/${canonical}`);
}

function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
