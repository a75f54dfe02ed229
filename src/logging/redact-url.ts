/** What replaces a secret wherever the logs would have shown it. */
export const REDACTED = '[redacted]';

/**
 * Query parameters whose values never reach a log line: credentials (`access_token`, `secret`, `appsecret`, the
 * JS-SDK `ticket`), one-time grants (`code` of OAuth, `refresh_token`), and the callback's `echostr` (answering it is
 * the proof of owning the callback token) and signatures (a signature with its inputs is an offline guessing oracle
 * for a short callback token).
 */
export const SENSITIVE_QUERY_PARAMS: readonly string[] = [
  'access_token',
  'secret',
  'appsecret',
  'app_secret',
  'component_access_token',
  'authorizer_access_token',
  'refresh_token',
  'ticket',
  'jsapi_ticket',
  'code',
  'echostr',
  'signature',
  'msg_signature',
  'token',
  'key',
  'api_key',
  'apikey',
  'password',
];

const sensitive = new Set(SENSITIVE_QUERY_PARAMS);

/** Where a query may start: `?`, and also `#` (the router splits there too) and `;` (a router option). */
const QUERY_START = /[?#;]/;
/** Where a parameter's name may start: after the query start or any of these. */
const NAME_START = /[&;?#]/g;
/** `scheme://user:password@` of an absolute URL, to its last `@` before the query. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@?\s]*@)+/i;
const SLASH = 47;
/** How many times a name is percent-decoded at most (`%2573ecret` is `secret` once a proxy decodes it too). */
const MAX_DECODES = 3;

/**
 * `url` (a path with an optional query, as in a request line) with the value of every sensitive query parameter
 * replaced by `[redacted]`; everything else is kept byte for byte.
 *
 * The query is read as every parser on the way reads it, and redacted where ANY of them would find a sensitive
 * name: Fastify's router ends the path at the first `?` or `#` (not only `?`) and reads everything after, `#` and
 * `?` included, splitting on `&` only; with `useSemicolonDelimiter` `;` ends the path too; other parsers split
 * parameters on `;` or stop at `#`. Names match after decoding (`+` and percent-escapes, repeatedly, malformed escapes
 * left as they are) and case-insensitively. A matched value is redacted up to the next `&` (no parser reads a value
 * past it), and each occurrence of a repeated name is. The credentials of an absolute-form target are redacted too.
 */
export function redactUrl(url: string): string {
  // an absolute-form request target may carry credentials before its host
  if (url.charCodeAt(0) !== SLASH && url.includes('@')) url = url.replace(USERINFO, `$1${REDACTED}@`);
  const start = url.search(QUERY_START);
  if (start === -1) return url;
  let out = '';
  let copied = 0;
  // each candidate name starts after a delimiter; a redaction runs from its `=` to the next `&`
  let redactedTo = -1;
  NAME_START.lastIndex = start;
  for (let match = NAME_START.exec(url); match !== null; match = NAME_START.exec(url)) {
    const nameFrom = match.index + 1;
    if (nameFrom <= redactedTo) continue;
    const eq = indexOfBefore(url, '=', nameFrom, /[&;?#]/);
    if (eq === -1) continue;
    if (!sensitive.has(normaliseName(url.slice(nameFrom, eq)))) continue;
    const amp = url.indexOf('&', eq + 1);
    const end = amp === -1 ? url.length : amp;
    if (end === eq + 1) continue;
    out += url.slice(copied, eq + 1) + REDACTED;
    copied = end;
    redactedTo = end;
    NAME_START.lastIndex = end;
  }
  return copied === 0 ? url : out + url.slice(copied);
}

/** Index of `char` in `text` from `from`, or -1 when a character matching `stop` (or the end) comes first. */
function indexOfBefore(text: string, char: string, from: number, stop: RegExp): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === char) return i;
    if (stop.test(c)) return -1;
  }
  return -1;
}

/** A parameter name as a parser would compare it: `+` as space, escapes decoded, trimmed, lower case. */
function normaliseName(name: string): string {
  let decoded = name.replace(/\+/g, ' ');
  for (let round = 0; round < MAX_DECODES && decoded.includes('%'); round++) {
    const next = decodeEscapes(decoded);
    if (next === decoded) break;
    decoded = next;
  }
  return decoded.trim().toLowerCase();
}

/** Each well-formed `%XX` as its byte (names worth matching are ASCII); a malformed escape stays as it is. */
function decodeEscapes(text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
