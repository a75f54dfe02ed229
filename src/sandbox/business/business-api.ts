import type { FastifyInstance } from 'fastify';
import type { BusinessRoute, SimulatorHandle } from './business-contract';
import { resetSandboxBusinessState, sandboxIssuedSecrets, seedSandboxUsers } from './business-state';
import { isObject, str } from './business-route';
import { DATACUBE_ROUTES } from './datacube';
import { MATERIAL_ROUTES } from './material';
import { MEDIA_ROUTES } from './media';
import { MENU_ROUTES } from './menu';
import { MESSAGE_ROUTES } from './message';
import { MISC_ROUTES, registerClearQuotaV2 } from './misc';
import { registerOAuthRoutes } from './oauth';
import { QRCODE_ROUTES } from './qrcode';
import { SHORTEN_ROUTES } from './shorten';
import { TAG_ROUTES } from './tags';
import { registerTicketControlRoutes, TICKET_ROUTES } from './tickets';
import { USER_ROUTES } from './user';
import { registerMiniProgramLoginRoutes, WXA_ROUTES } from './wxa';

/*
 * WeChat's business APIs as the simulator serves them, one file per area (as src/api/areas): in-memory state per
 * simulator and app (business-state.ts), request shapes checked the way WeChat checks them, realistic answers.
 * A new area — the Mini Program's `/wxa/*` and `/sns/jscode2session`, the Open Platform's `/cgi-bin/component/*` —
 * is a file here, listed below: in WECHAT_BUSINESS_API when it takes a basic access_token (the core then adds the
 * token check, faults, counting and recording), in registerSandboxPlatformRoutes when it authenticates otherwise.
 */

/** Every business endpoint of the simulator beyond the core's token, IP and custom-send routes. */
export const WECHAT_BUSINESS_API: BusinessRoute[] = [
  ...MENU_ROUTES,
  ...MESSAGE_ROUTES,
  ...USER_ROUTES,
  ...TAG_ROUTES,
  ...QRCODE_ROUTES,
  ...MEDIA_ROUTES,
  ...MATERIAL_ROUTES,
  ...SHORTEN_ROUTES,
  ...MISC_ROUTES,
  ...TICKET_ROUTES,
  ...DATACUBE_ROUTES,
  ...WXA_ROUTES,
];

/**
 * The WeChat endpoints that take no basic access_token — OAuth (oauth.ts), the Mini Program login (wxa.ts) and
 * `/cgi-bin/clear_quota/v2` — plus the
 * control routes of the business state: `GET /sandbox/tickets/stats`, `GET /sandbox/tickets/check?appid=&ticket=`,
 * `GET /sandbox/tickets/issued`, `POST /sandbox/oauth/code`, `POST /sandbox/wxa/login-code`, `POST /sandbox/wxa/phone-code`,
 * `POST /sandbox/users`, `POST /sandbox/business/reset`.
 * The simulator's default `routes` option.
 */
export function registerSandboxPlatformRoutes(scope: FastifyInstance, sim: SimulatorHandle): void {
  registerOAuthRoutes(scope, sim);
  registerMiniProgramLoginRoutes(scope, sim);
  registerClearQuotaV2(scope, sim);
  registerTicketControlRoutes(scope, sim);
  scope.get('/sandbox/tickets/issued', async () => sandboxIssuedSecrets(sim));

  scope.post('/sandbox/users', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    const appId = str(body.appid);
    const count = Number(body.count);
    if (!appId || !sim.hasApp(appId)) return reply.code(400).send({ error: 'appid must name a known app' });
    if (!Number.isSafeInteger(count) || count < 0 || count > 200_000) {
      return reply.code(400).send({ error: 'count must be an integer from 0 to 200000' });
    }
    return { appid: appId, followers: seedSandboxUsers(sim, appId, count).length };
  });

  scope.post('/sandbox/business/reset', async () => {
    resetSandboxBusinessState(sim);
    return { ok: true };
  });
}
