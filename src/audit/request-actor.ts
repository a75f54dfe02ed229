import type { Principal } from '../clients/principal';
import type { AuditActor } from './audit-entry';

const actors = new WeakMap<object, AuditActor>();
const principals = new WeakMap<object, Principal>();

/** Remembers who made `request` (set by the admin guard once the API key is checked). */
export function setRequestActor(request: object, actor: AuditActor, principal?: Principal): void {
  actors.set(request, actor);
  if (principal) principals.set(request, principal);
}

/** Who made `request`: the authenticated key, else its address. */
export function requestActor(request: { ip: string }): AuditActor {
  return actors.get(request) ?? { id: `ip:${request.ip}`, ip: request.ip };
}

/** The admin or client whose key authenticated `request`, when one did. */
export function requestPrincipal(request: object): Principal | undefined {
  return principals.get(request);
}
