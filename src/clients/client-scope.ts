/**
 * What a client may do. Each route needs one scope:
 * - `read`: token and ticket reads, account state, JS-SDK signature, the `/cgi-bin/token` drop-ins;
 * - `report`: invalid-token reports;
 * - `operate`: forced refresh, accounts reload, the audit log;
 * - `gateway`: the HTTP gateway and the `/cgi-bin/*` pass-through;
 * - `exchange`: code2session and the OAuth code exchange.
 */
export const CLIENT_SCOPES = ['read', 'report', 'operate', 'gateway', 'exchange'] as const;

export type ClientScope = (typeof CLIENT_SCOPES)[number];

export function isClientScope(value: unknown): value is ClientScope {
  return typeof value === 'string' && (CLIENT_SCOPES as readonly string[]).includes(value);
}
