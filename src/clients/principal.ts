import type { ClientScope } from './client-scope';
import { EVERY_APP_ID } from './clients-parser';
import { AccessDeniedError } from './errors/access-denied.error';

/** `authorize(…, EVERY_ACCOUNT)`: an action on the whole fleet (a reload), allowed only on `appIds: ["*"]`. */
export const EVERY_ACCOUNT = Symbol('every account');

/** Who presented a key: an admin key (every scope, every account) or a client. Never holds the key. */
export interface Principal {
  readonly kind: 'admin' | 'client';
  /** The client's name; `admin` for ADMIN_API_KEYS. */
  readonly name: string;
  /** `key#<8 hex>` (see keyFingerprint): for rate limits, logs and metrics. */
  readonly keyId: string;
  /** Who the audit log names: `key#<8 hex>` for an admin key (as before clients existed), `client:<name>` else. */
  readonly actorId: string;
  readonly scopes: ReadonlySet<ClientScope>;
  readonly appIds: ReadonlySet<string> | typeof EVERY_APP_ID;
}

export type AccessDecision = { allowed: true } | { allowed: false; status: 403; message: string };

const SCOPE_USES: Readonly<Record<ClientScope, string>> = {
  read: 'token and ticket reads, account state, JS-SDK signatures',
  report: 'invalid-token reports',
  operate: 'forced refreshes, reloads, the audit log',
  gateway: 'the gateway and the /cgi-bin pass-through',
  exchange: 'code2session and OAuth code exchanges',
};

/** Whether `principal` may use account `appId` (for filtering lists such as `GET /api/v1/accounts`). */
export function canUseAccount(principal: Principal, appId: string): boolean {
  return principal.appIds === EVERY_APP_ID || principal.appIds.has(appId);
}

/**
 * Whether `principal` may act with `scope`, on account `target` when given (or on every account with
 * {@link EVERY_ACCOUNT}). A refusal is a 403 whose message names the client and the scope or appId; for an account
 * outside the client's list it is the same whether the account exists or not, so call this BEFORE looking the
 * account up (its 404 is only for principals that may use every account).
 */
export function authorize(
  principal: Principal,
  scope: ClientScope,
  target?: string | typeof EVERY_ACCOUNT,
): AccessDecision {
  if (!principal.scopes.has(scope)) {
    return deny(`client "${principal.name}" lacks the "${scope}" scope (${SCOPE_USES[scope]})`);
  }
  if (target === EVERY_ACCOUNT && principal.appIds !== EVERY_APP_ID) {
    return deny(`client "${principal.name}" may not act on every account (its appIds are not ["*"])`);
  }
  if (typeof target === 'string' && !canUseAccount(principal, target)) {
    return deny(`client "${principal.name}" may not use account ${target}`);
  }
  return { allowed: true };
}

/** {@link authorize}, throwing AccessDeniedError (403 at the HTTP edge) on a refusal. */
export function assertAuthorized(
  principal: Principal,
  scope: ClientScope,
  target?: string | typeof EVERY_ACCOUNT,
): void {
  const decision = authorize(principal, scope, target);
  if (!decision.allowed) {
    throw new AccessDeniedError(
      decision.message,
      principal.name,
      scope,
      typeof target === 'string' ? target : null,
    );
  }
}

function deny(message: string): AccessDecision {
  return { allowed: false, status: 403, message };
}
