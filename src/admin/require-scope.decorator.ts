import { SetMetadata } from '@nestjs/common';
import type { ClientScope } from '../clients/client-scope';

export const REQUIRED_SCOPE = 'wxhub:required-scope';

/** What AdminAuthGuard checks before the route runs. */
export interface ScopeRequirement {
  scope: ClientScope;
  /**
   * `appId`: the account is the route's `:appId` param; `every`: the action concerns every account (a reload);
   * `none`: the route filters by the principal's accounts itself.
   */
  target: 'appId' | 'every' | 'none';
}

/**
 * The scope a route needs (see CLIENT_SCOPES), checked by AdminAuthGuard before any lookup, so a client refused an
 * account learns nothing of whether it exists. Without a target option the account is the `:appId` param.
 */
export const RequireScope = (
  scope: ClientScope,
  target: ScopeRequirement['target'] = 'appId',
): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPE, { scope, target } satisfies ScopeRequirement);
