import pino, { type DestinationStream, type Logger as PinoInstance } from 'pino';
import type { LogLevel } from '../config/wxhub-config';
import { REDACTED, redactUrl, SENSITIVE_QUERY_PARAMS } from './redact-url';

/**
 * Field paths censored in every log line (defence in depth: code never logs these, and the scrubber catches known
 * values anywhere): credentials in headers, bodies and objects handed to the logger. No `*.field` wildcards: they
 * made every log call ~3 times slower.
 */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'body.secret',
  'body.appsecret',
  'body.access_token',
  'body.ticket',
  'access_token',
  'appSecret',
  'secret',
  'encodingAESKey',
  'apiKey',
];

interface RequestLike {
  id?: unknown;
  method?: string;
  url?: string;
}

/**
 * The process's root pino logger: JSON lines at `level`, ISO times, sensitive fields censored, request URLs logged
 * with their credentials redacted.
 */
export function createRootLogger(level: LogLevel, destination: DestinationStream): PinoInstance {
  return pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
      serializers: {
        // Fastify's own lines (a 4xx/5xx it answers itself) pass request objects: never their headers or raw URL
        req: (req: RequestLike) => ({
          id: req.id,
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
        // the same for an error logged under the other usual name
        error: serializeError,
      },
    },
    destination,
  );
}

/** Fields of an error object that hold a URL (a request's, a connection string): query credentials redacted too. */
const URL_FIELDS = new Set(['input', 'url', 'href', 'path', 'baseURL', 'uri', 'location']);
/** Fields never logged: the bytes of a request Node could not parse (headers with keys, the query with secrets). */
const DROPPED_FIELDS = new Set(['rawPacket']);
/** Fields whose value is replaced whole, in an error or any object it carries (a client's request config…). */
const SECRET_FIELDS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'sentinelpassword',
  'passphrase',
  // an error's `code` and a Redis `key` are no secrets
  ...SENSITIVE_QUERY_PARAMS.filter((name) => name !== 'code' && name !== 'key'),
]);
/** How deep an error's own fields are followed (`cause`, `config.headers`…). */
const MAX_DEPTH = 5;
/** `scheme://user:password@`: greedy to the last `@` of the run, since an unescaped `#`, `/` or `?` may precede it. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>@]*(?:@[^\s"'<>@]*)*@/gi;

/**
 * pino's error serializer, made safe to log: credentials removed from every URL it carries (`input` of an
 * ERR_INVALID_URL, `url`, a client's `config`, nested `cause`s and errors), secret-named fields redacted, and the raw
 * bytes of an unparseable request (`rawPacket`, which the scrubber cannot read as a byte array) dropped for their
 * length.
 */
export function serializeError(error: unknown): unknown {
  return sanitize(pino.stdSerializers.err(error as Error), 0, new WeakSet());
}

/** `text` with the userinfo of every URL in it replaced by `[redacted]`. */
export function stripUrlCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : text;
}

function sanitize(value: unknown, depth: number, seen: WeakSet<object>, field?: string): unknown {
  if (typeof value === 'string') {
    const clean = stripUrlCredentials(value);
    return field !== undefined && URL_FIELDS.has(field) ? redactUrl(clean) : clean;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (seen.has(value) || depth > MAX_DEPTH) return '[omitted]';
  seen.add(value);
  if (value instanceof Error) return sanitize(pino.stdSerializers.err(value), depth + 1, seen);
  if (Array.isArray(value)) return value.map((item) => sanitize(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (DROPPED_FIELDS.has(key)) {
      out[`${key}Bytes`] = (inner as { length?: unknown } | null)?.length;
    } else if (
      SECRET_FIELDS.has(key.toLowerCase()) &&
      inner !== undefined &&
      inner !== null &&
      inner !== ''
    ) {
      out[key] = REDACTED;
    } else {
      out[key] = sanitize(inner, depth + 1, seen, key);
    }
  }
  return out;
}
