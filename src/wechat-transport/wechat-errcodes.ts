/**
 * What WeChat's errcodes mean to the hub: the one table every caller of WeChat (token client, API client,
 * gateway, customer-service sender, tickets) reads instead of keeping its own list.
 */

/** The access_token is dead: 40001 invalid / not latest, 40014 invalid, 42001 expired. */
export const TOKEN_DEAD_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

/** The account (or the token type) may not use the API: retrying cannot help. */
export const PERMISSION_ERRCODES: ReadonlySet<number> = new Set([48001, 48004, 50001, 50002]);

/** WeChat's errmsg for 40001 on a business API (the pass-through answers it for a token it does not know). */
export const INVALID_CREDENTIAL_ERRMSG = 'invalid credential, access_token is invalid or not latest';

/** WeChat's "system busy": transient, worth a spaced retry. */
export const BUSY_ERRCODE = -1;

/** This server's egress IP is not in the account's IP whitelist. */
export const IP_WHITELIST_ERRCODE = 40164;

/**
 * Errcodes of the token endpoints that mean the account's settings are wrong (an operator must act; retrying
 * soon cannot help), with what to tell the operator. 40001 is here because the token endpoint answers it for a
 * wrong AppSecret; on any other API it means a dead token ({@link TOKEN_DEAD_ERRCODES}).
 */
export const CONFIGURATION_ERRCODES: ReadonlyMap<number, string> = new Map([
  [40001, 'the AppSecret is wrong (invalid credential)'],
  [40002, 'grant_type was refused'],
  [40013, 'the AppID is invalid'],
  [40125, 'the AppSecret is invalid'],
  [IP_WHITELIST_ERRCODE, "this server's IP is not in the account's IP whitelist"],
  [40243, 'the AppSecret is frozen in the WeChat console'],
  [41002, 'the AppID is missing'],
  [41004, 'the AppSecret is missing'],
  [89501, 'an admin must confirm this IP in the WeChat console'],
  [89503, 'an admin must confirm this risky call in the WeChat console'],
  [89506, 'an admin rejected this IP (retry after 24 h)'],
  [89507, 'an admin rejected this IP (retry after 1 h)'],
]);

/** What an errcode asks of the caller. */
export type ErrcodeClass =
  'ok' | 'token-dead' | 'busy' | 'quota' | 'rate' | 'ip-whitelist' | 'configuration' | 'permission' | 'other';

/** True when WeChat refused the access_token itself (the token plane should replace it). */
export function isTokenDead(errcode: number | null | undefined): boolean {
  return errcode !== null && errcode !== undefined && TOKEN_DEAD_ERRCODES.has(errcode);
}

/**
 * The class of an errcode. `call` says which endpoint answered: on a `token` call (the token endpoints
 * themselves) 40001 is a wrong AppSecret, elsewhere a dead token.
 */
export function classifyErrcode(errcode: number, call: 'business' | 'token' = 'business'): ErrcodeClass {
  if (errcode === 0) return 'ok';
  if (errcode === BUSY_ERRCODE) return 'busy';
  if (errcode === 45009) return 'quota';
  if (errcode === 45011) return 'rate';
  if (errcode === IP_WHITELIST_ERRCODE) return 'ip-whitelist';
  if (call === 'business' && TOKEN_DEAD_ERRCODES.has(errcode)) return 'token-dead';
  if (CONFIGURATION_ERRCODES.has(errcode)) return 'configuration';
  if (PERMISSION_ERRCODES.has(errcode)) return 'permission';
  return 'other';
}

/** The errcode of a parsed WeChat answer (a number, or a numeric string); 0 when it carries none. */
export function errcodeOf(answer: Record<string, unknown>): number {
  const raw = answer.errcode;
  const errcode = typeof raw === 'string' ? Number(raw) : raw;
  return typeof errcode === 'number' && Number.isFinite(errcode) ? errcode : 0;
}
