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
];

const sensitive = new Set(SENSITIVE_QUERY_PARAMS);

/**
 * `url` (a path with an optional query, as in a request line) with the value of every sensitive query parameter
 * replaced by `[redacted]`. Names are matched case-insensitively, also when percent-encoded; everything else is kept
 * byte for byte.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
  if (query === '') return url;
  let changed = false;
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    if (!sensitive.has(normaliseName(rawName))) return part;
    if (eq === -1 || eq === part.length - 1) return part;
    changed = true;
    return `${rawName}=${REDACTED}`;
  });
  if (!changed) return url;
  return `${url.slice(0, q + 1)}${parts.join('&')}${hash === -1 ? '' : url.slice(hash)}`;
}

function normaliseName(name: string): string {
  let decoded = name;
  if (name.includes('%') || name.includes('+')) {
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      decoded = name;
    }
  }
  return decoded.trim().toLowerCase();
}
