import { Inject } from '@nestjs/common';
import { TokenStore } from '../store/token-store';

/** Resolved token-plane settings (TokenPlaneOptions). */
export const TOKEN_PLANE_OPTIONS = Symbol('TOKEN_PLANE_OPTIONS');
export const InjectTokenPlaneOptions = (): ParameterDecorator => Inject(TOKEN_PLANE_OPTIONS);
export const InjectTokenStore = (): ParameterDecorator => Inject(TokenStore);

/** Daily counter fields (per account, China day). */
export const COUNTERS = {
  legacyCalls: 'token',
  stableCalls: 'stable_token',
  forceCalls: 'stable_token_force',
  probes: 'probe',
  reportsStale: 'invalid_report_stale',
  reportsFalse: 'invalid_report_false',
  reportsAccepted: 'invalid_report_accepted',
  foreignInvalidations: 'foreign_invalidation',
} as const;
