import type { AuditActor } from './audit-entry';

const actors = new WeakMap<object, AuditActor>();

/** Remembers who made `request` (set by the admin guard once the API key is checked). */
export function setRequestActor(request: object, actor: AuditActor): void {
  actors.set(request, actor);
}

/** Who made `request`: the authenticated key, else its address. */
export function requestActor(request: { ip: string }): AuditActor {
  return actors.get(request) ?? { id: `ip:${request.ip}`, ip: request.ip };
}
