import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_TIMING,
  errorMessage,
  httpStatusOf,
  isNonEmptyString,
  objectBody,
  queryOf,
  SimulatorInputError,
  SimulatorNotFoundError,
  stringParam,
} from './simulator-input';
import type {
  RecordedCustomMessage,
  RecordedRequest,
  SimulatorApp,
  SimulatorFault,
  SimulatorStats,
  SimulatorTiming,
  TokenEndpoint,
  TokenGrant,
  TokenState,
} from './simulator-types';

/** What the control routes drive; WechatSimulator implements it. */
export interface SimulatorControl {
  stats(): SimulatorStats;
  customMessages(): RecordedCustomMessage[];
  requests(path?: string): RecordedRequest[];
  reset(): void;
  addApp(app: SimulatorApp): void;
  configure(timing: SimulatorTiming): Required<SimulatorTiming>;
  injectFault(fault: SimulatorFault): string;
  clearFaults(): void;
  issuedTokens(): string[];
  checkToken(appId: string, token: string): TokenState;
  foreignRefresh(appId: string, endpoint: TokenEndpoint): TokenGrant;
  revoke(appId: string, token: string, options?: { stillIssued?: boolean }): void;
}

/**
 * The simulator's HTTP control surface under `/sandbox/`: stats, recorded requests and customer-service messages,
 * reset, apps, timing, faults, issued tokens, token checks, foreign refreshes and revocations. A bad input is a 400,
 * an unknown app or token a 404.
 */
export function registerControlRoutes(scope: FastifyInstance, sim: SimulatorControl): void {
  scope.setErrorHandler(async (error, _request, reply) => {
    if (error instanceof SimulatorInputError) return reply.code(400).send({ error: error.message });
    if (error instanceof SimulatorNotFoundError) return reply.code(404).send({ error: error.message });
    const statusCode = httpStatusOf(error);
    return reply.code(statusCode).send({ error: statusCode < 500 ? errorMessage(error) : 'internal error' });
  });

  scope.get('/sandbox/stats', async () => sim.stats());
  scope.get('/sandbox/custom-messages', async () => sim.customMessages());
  scope.get<{ Querystring: { path?: string } }>('/sandbox/requests', async (request) =>
    sim.requests(request.query.path),
  );
  scope.post('/sandbox/reset', async () => {
    sim.reset();
    return { ok: true };
  });
  scope.post('/sandbox/apps', async (request) => {
    const { appId, appSecret, kind } = objectBody(request.body);
    sim.addApp({ appId, appSecret, kind } as SimulatorApp);
    return { ok: true, appId };
  });
  scope.get('/sandbox/config', async () => sim.configure({}));
  scope.post('/sandbox/config', async (request) => {
    const body = objectBody(request.body);
    const timing: SimulatorTiming = {};
    for (const key of Object.keys(DEFAULT_TIMING) as (keyof SimulatorTiming)[]) {
      const value = body[key];
      if (value === undefined) continue;
      if (typeof value !== 'number') throw new SimulatorInputError(key, 'must be a number');
      timing[key] = value;
    }
    const unknown = Object.keys(body).filter((key) => !(key in DEFAULT_TIMING));
    if (unknown.length > 0) throw new SimulatorInputError(unknown.join(', '), 'unknown option');
    return sim.configure(timing);
  });
  scope.post('/sandbox/faults', async (request) => ({
    id: sim.injectFault(objectBody(request.body) as unknown as SimulatorFault),
  }));
  scope.delete('/sandbox/faults', async () => {
    sim.clearFaults();
    return { ok: true };
  });
  scope.get('/sandbox/tokens/issued', async () => ({ tokens: sim.issuedTokens() }));
  scope.get('/sandbox/tokens/check', async (request) => {
    const query = queryOf(request);
    const appId = stringParam(query.appid);
    const token = stringParam(query.access_token);
    if (appId === undefined) throw new SimulatorInputError('appid', 'is required');
    if (token === undefined) throw new SimulatorInputError('access_token', 'is required');
    return { state: sim.checkToken(appId, token) };
  });
  scope.post<{ Params: { appId: string } }>('/sandbox/apps/:appId/foreign-refresh', async (request) => {
    const endpoint = objectBody(request.body).endpoint;
    if (endpoint !== 'stable' && endpoint !== 'legacy') {
      throw new SimulatorInputError('endpoint', "must be 'stable' or 'legacy'");
    }
    return sim.foreignRefresh(request.params.appId, endpoint);
  });
  scope.post<{ Params: { appId: string } }>('/sandbox/apps/:appId/revoke', async (request) => {
    const body = objectBody(request.body);
    const token = body.access_token;
    if (!isNonEmptyString(token)) throw new SimulatorInputError('access_token', 'must be a non-empty string');
    sim.revoke(request.params.appId, token, { stillIssued: body.still_issued === true });
    return { ok: true };
  });
}
