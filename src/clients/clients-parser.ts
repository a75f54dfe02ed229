import { timingSafeEqual } from 'node:crypto';
import { keyDigest } from './client-key';
import { CLIENT_SCOPES, isClientScope, type ClientScope } from './client-scope';

/** The shortest client key accepted (as for ADMIN_API_KEYS). */
export const MIN_CLIENT_KEY_LENGTH = 16;
/** `appIds: ["*"]`: every account, present and future. */
export const EVERY_APP_ID = '*';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** Printable ASCII without spaces: a key travels in an `Authorization: Bearer` header and a query string. */
const KEY_CHARACTERS = /^[\x21-\x7e]+$/;
const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FIELDS = new Set(['name', 'key', 'keySha256', 'scopes', 'appIds']);

/** One validated client. The key itself is not kept: only its SHA-256. */
export interface ClientDefinition {
  /** Unique; letters, digits, `.`, `_`, `-` (it names the client in logs, metrics and the audit log). */
  name: string;
  /** SHA-256 of the key, from `key` or `keySha256`. */
  keySha256: Buffer;
  scopes: readonly ClientScope[];
  /** The accounts the client may use, or `'*'` for every account (present and future). */
  appIds: readonly string[] | typeof EVERY_APP_ID;
}

/** What the clients are checked against. */
export interface ClientsContext {
  /** Names the list in every problem: `WECHAT_CLIENTS` or `WECHAT_ACCOUNTS_FILE clients`. */
  source: string;
  /** The configured appIds: a client may only list these. */
  appIds: Iterable<string>;
  /** The accounts' AppSecrets: a client key may not be one of them. */
  appSecrets?: Iterable<string>;
  /** ADMIN_API_KEYS: a client key may not be one of them. */
  adminKeys?: Iterable<string>;
}

export type ClientsParseResult =
  | {
      ok: true;
      clients: ClientDefinition[];
      /** The plain keys that were configured (not the `keySha256` ones), for the log scrubber only. */
      keys: string[];
    }
  | { ok: false; problems: string[] };

/**
 * Validates a list of clients as read from `WECHAT_CLIENTS` (parsed JSON) or the `clients:` value of the accounts
 * file (YAML, every scalar a string). Pure: the config loader calls it at boot and on every reload, and applies the
 * result only when it is `ok`. Every problem names the list, the index and the name of the client and the field,
 * never a key: unknown field, bad or duplicate name, both or neither of `key` and `keySha256`, a weak key (shorter
 * than {@link MIN_CLIENT_KEY_LENGTH}, spaces, or equal to an AppSecret or an admin key), a key used twice, empty or
 * unknown scopes, empty or unknown appIds (`["*"]` = every account, only alone).
 */
export function parseClients(raw: unknown, context: ClientsContext): ClientsParseResult {
  const { source } = context;
  if (raw === undefined || raw === null) return { ok: true, clients: [], keys: [] };
  if (!Array.isArray(raw)) return { ok: false, problems: [`${source} must be an array of clients`] };
  const known = new Set(context.appIds);
  const appSecrets = [...(context.appSecrets ?? [])].map(keyDigest);
  const adminKeys = [...(context.adminKeys ?? [])].map(keyDigest);
  const problems: string[] = [];
  const clients: ClientDefinition[] = [];
  const keys: string[] = [];
  const names = new Map<string, number>();
  const digests: { digest: Buffer; index: number }[] = [];

  raw.forEach((item: unknown, index) => {
    const at = (field?: string, name?: string): string =>
      `${source}[${index}]${field ? `.${field}` : ''}${name ? ` (client "${name}")` : ''}`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${at()} must be an object`);
      return;
    }
    const fields = item as Record<string, unknown>;
    const name = typeof fields.name === 'string' && NAME.test(fields.name) ? fields.name : undefined;
    const before = problems.length;
    for (const field of Object.keys(fields)) {
      if (!FIELDS.has(field)) problems.push(`${at(field, name)} is not a known client field`);
    }

    if (name === undefined) {
      problems.push(
        `${at('name')} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      );
    } else if (names.has(name)) {
      problems.push(`${at('name', name)} is a duplicate of ${source}[${names.get(name)}]`);
    } else names.set(name, index);

    const digest = clientKeyDigest(fields, (problem) =>
      problems.push(`${at(problem.field, name)} ${problem.text}`),
    );
    if (digest) {
      if (appSecrets.some((secret) => timingSafeEqual(secret, digest))) {
        problems.push(`${at('key', name)} is an account's AppSecret: give each client a key of its own`);
      }
      if (adminKeys.some((admin) => timingSafeEqual(admin, digest))) {
        problems.push(`${at('key', name)} is one of ADMIN_API_KEYS: give each client a key of its own`);
      }
      const twin = digests.find((other) => timingSafeEqual(other.digest, digest));
      if (twin) problems.push(`${at('key', name)} is the key of ${source}[${twin.index}] too`);
      digests.push({ digest, index });
    }

    const scopes = parseScopes(fields.scopes, (text) => problems.push(`${at('scopes', name)} ${text}`));
    const appIds = parseAppIds(fields.appIds, known, (text) =>
      problems.push(`${at('appIds', name)} ${text}`),
    );

    if (problems.length > before || !name || !digest || !scopes || !appIds) return;
    clients.push({ name, keySha256: digest, scopes, appIds });
    if (typeof fields.key === 'string') keys.push(fields.key);
  });

  return problems.length ? { ok: false, problems } : { ok: true, clients, keys };
}

/**
 * Parses the JSON text of `WECHAT_CLIENTS` and validates it with {@link parseClients}. A JSON syntax error is
 * reported by position only: the parser's message quotes the text around the error, which may be a key.
 */
export function parseClientsJson(text: string, context: ClientsContext): ClientsParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    return {
      ok: false,
      problems: [`${context.source} is not valid JSON${at ? ` (near character ${at[1]})` : ''}`],
    };
  }
  return parseClients(data, context);
}

function clientKeyDigest(
  fields: Record<string, unknown>,
  problem: (p: { field: string; text: string }) => void,
): Buffer | undefined {
  const { key, keySha256 } = fields;
  if (key !== undefined && keySha256 !== undefined) {
    problem({ field: 'key', text: 'and keySha256 are both set: give one of them' });
    return undefined;
  }
  if (key === undefined && keySha256 === undefined) {
    problem({
      field: 'key',
      text: `is missing: give "key" (at least ${MIN_CLIENT_KEY_LENGTH} characters) or "keySha256"`,
    });
    return undefined;
  }
  if (keySha256 !== undefined) {
    if (typeof keySha256 !== 'string' || !SHA256_HEX.test(keySha256)) {
      problem({ field: 'keySha256', text: 'must be 64 hex digits (the SHA-256 of the key)' });
      return undefined;
    }
    return Buffer.from(keySha256, 'hex');
  }
  if (typeof key !== 'string' || key.length < MIN_CLIENT_KEY_LENGTH) {
    problem({ field: 'key', text: `must be a string of at least ${MIN_CLIENT_KEY_LENGTH} characters` });
    return undefined;
  }
  if (!KEY_CHARACTERS.test(key)) {
    problem({ field: 'key', text: 'must be printable ASCII without spaces' });
    return undefined;
  }
  return keyDigest(key);
}

function parseScopes(value: unknown, problem: (text: string) => void): ClientScope[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problem(`must be a non-empty array of scopes (${CLIENT_SCOPES.join(', ')})`);
    return undefined;
  }
  const unknown = value.filter((scope) => !isClientScope(scope));
  if (unknown.length) {
    problem(`has unknown scopes ${describe(unknown)} (known: ${CLIENT_SCOPES.join(', ')})`);
    return undefined;
  }
  return [...new Set(value as ClientScope[])];
}

function parseAppIds(
  value: unknown,
  known: ReadonlySet<string>,
  problem: (text: string) => void,
): string[] | typeof EVERY_APP_ID | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problem('must be a non-empty array of appIds, or ["*"] for every account');
    return undefined;
  }
  if (value.includes(EVERY_APP_ID)) {
    if (value.length === 1) return EVERY_APP_ID;
    problem('"*" (every account) must be alone');
    return undefined;
  }
  const malformed = value.filter((appId) => typeof appId !== 'string' || !APP_ID.test(appId));
  if (malformed.length) {
    problem(`must hold appIds (letters, digits, "_", "-"): ${describe(malformed)} is not one`);
    return undefined;
  }
  const unknown = (value as string[]).filter((appId) => !known.has(appId));
  if (unknown.length) {
    problem(`names accounts that are not configured: ${unknown.join(', ')}`);
    return undefined;
  }
  return [...new Set(value as string[])];
}

/** Quotes what was written in `scopes`/`appIds`; a long string is only described, in case a key was pasted there. */
function describe(values: unknown[]): string {
  return values
    .map((v) =>
      typeof v !== 'string'
        ? `a ${typeof v}`
        : v.length <= 20
          ? JSON.stringify(v)
          : `a ${v.length}-character string`,
    )
    .join(', ');
}
