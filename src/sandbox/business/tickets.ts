import type { FastifyInstance } from 'fastify';
import type { BusinessRoute, SimulatorHandle } from './business-contract';
import { stateOf, type TicketType } from './business-state';
import { OK, randomToken, reject, route, str } from './business-route';

/** `/cgi-bin/ticket/getticket`: JS-SDK (`jsapi`) and card (`wx_card`) tickets, living as long as a token. */
export const TICKET_ROUTES: BusinessRoute[] = [
  route('GET', '/cgi-bin/ticket/getticket', (ctx) => {
    const type = str(ctx.request.query.type);
    if (type !== 'jsapi' && type !== 'wx_card') reject(40097, 'invalid args');
    const lifetime = ctx.sim.tokenLifetimeSeconds();
    const { tickets } = ctx.app;
    if (tickets.size >= 1_000) {
      for (const [ticket, record] of tickets) if (record.expiresAt <= ctx.now) tickets.delete(ticket);
    }
    const ticket = randomToken(64);
    tickets.set(ticket, { type, expiresAt: ctx.now + lifetime * 1000 });
    ctx.app.ticketCounts[type]++;
    return { ...OK, ticket, expires_in: lifetime };
  }),
];

/** JS-SDK / card tickets issued per app and type since the simulator started. */
export function sandboxTicketStats(sim: SimulatorHandle): Record<string, Record<TicketType, number>> {
  const result: Record<string, Record<TicketType, number>> = {};
  for (const [appId, app] of stateOf(sim).apps) result[appId] = { ...app.ticketCounts };
  return result;
}

/** Whether `ticket` was issued by this simulator to `appId` and is still valid. */
export function checkSandboxTicket(
  sim: SimulatorHandle,
  appId: string,
  ticket: string,
): { state: 'valid' | 'expired' | 'invalid'; type?: TicketType } {
  const record = stateOf(sim).apps.get(appId)?.tickets.get(ticket);
  if (!record) return { state: 'invalid' };
  return { state: sim.now() < record.expiresAt ? 'valid' : 'expired', type: record.type };
}

/** `GET /sandbox/tickets/stats` and `GET /sandbox/tickets/check?appid=&ticket=`. */
export function registerTicketControlRoutes(scope: FastifyInstance, sim: SimulatorHandle): void {
  scope.get('/sandbox/tickets/stats', async () => sandboxTicketStats(sim));

  scope.get('/sandbox/tickets/check', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const appId = str(q.appid);
    const ticket = str(q.ticket);
    if (!appId || !ticket) return reply.code(400).send({ error: 'appid and ticket are required' });
    return checkSandboxTicket(sim, appId, ticket);
  });
}
