import type { FastifyInstance } from 'fastify';
import { chinaDay } from '../../common/time';
import type { BusinessRoute, SimulatorHandle } from './business-contract';
import { appOf, type AppBusinessState } from './business-state';
import {
  isObject,
  jsonBody,
  OK,
  Reject,
  reject,
  route,
  startOfChinaDay,
  str,
  type Ctx,
} from './business-route';

const MONTHLY_QUOTA_CLEARS = 10;

/**
 * Default daily limits for `openapi/quota/get`. The §12 values (token, menu, media, custom send, QR, user
 * list/info) are WeChat's; the others are the simulator's choice.
 */
const DAILY_LIMITS: Record<string, number> = {
  '/cgi-bin/token': 2_000,
  '/cgi-bin/stable_token': 500_000,
  '/cgi-bin/menu/create': 1_000,
  '/cgi-bin/menu/delete': 1_000,
  '/cgi-bin/menu/get': 10_000,
  '/cgi-bin/media/upload': 5_000,
  '/cgi-bin/media/get': 10_000,
  '/cgi-bin/message/custom/send': 500_000,
  '/cgi-bin/message/template/send': 100_000,
  '/cgi-bin/qrcode/create': 100_000,
  '/cgi-bin/user/get': 500,
  '/cgi-bin/user/info': 5_000_000,
};
const DEFAULT_DAILY_LIMIT = 100_000;

/** Platform checks and quotas: `callback/check`, `clear_quota`, `openapi/quota/get`, `openapi/rid/get`. */
export const MISC_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/callback/check', (ctx) => {
    const body = jsonBody(ctx);
    const action = body.action;
    const operator = body.check_operator;
    if (action !== 'all' && action !== 'dns' && action !== 'ping') reject(47001, 'data format error');
    if (operator !== 'CHINANET' && operator !== 'UNICOM' && operator !== 'CAP' && operator !== 'DEFAULT') {
      reject(47001, 'data format error');
    }
    const seen = operator === 'DEFAULT' ? 'CAP' : operator;
    return {
      dns: action === 'ping' ? [] : [{ ip: '127.0.0.1', real_operator: seen }],
      ping:
        action === 'dns'
          ? []
          : [{ ip: '127.0.0.1', from_operator: seen, package_loss: '0%', time: '1.000ms' }],
    };
  }),
  route('POST', '/cgi-bin/clear_quota', (ctx) => {
    const appid = jsonBody(ctx).appid;
    if (typeof appid !== 'string' || !appid) reject(41002, 'appid missing');
    if (appid !== ctx.request.appId) reject(40013, 'invalid appid');
    clearQuota(ctx.app, ctx.now);
    return OK;
  }),
  route('POST', '/cgi-bin/openapi/quota/get', (ctx) => {
    const path = jsonBody(ctx).cgi_path;
    if (typeof path !== 'string' || !path.startsWith('/')) reject(76003, 'invalid cgi_path');
    if (path.startsWith('/sns/')) reject(76022, 'could not use this cgi_path，no permission');
    if (!(path in DAILY_LIMITS) && !ctx.sim.serves(path)) reject(76021, 'cgi_path not found');
    const limit = DAILY_LIMITS[path] ?? DEFAULT_DAILY_LIMIT;
    const used = usedToday(ctx, path);
    return { ...OK, quota: { daily_limit: limit, used, remain: Math.max(0, limit - used) } };
  }),
  route('POST', '/cgi-bin/openapi/rid/get', (ctx) => {
    const rid = jsonBody(ctx).rid;
    if (typeof rid !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/.test(rid))
      reject(76002, 'rid is error');
    const record = ctx.state.rids.get(rid);
    if (!record) reject(76001, 'rid not found');
    if (record.appId !== ctx.request.appId) reject(76003, 'rid does not belong to you');
    return {
      ...OK,
      request: {
        invoke_time: record.invokeTime,
        cost_in_ms: 1,
        request_url: record.requestUrl,
        request_body: record.requestBody,
        response_body: record.responseBody,
        client_ip: '127.0.0.1',
      },
    };
  }),
];

function clearQuota(app: AppBusinessState, now: number): void {
  const month = chinaDay(now).slice(0, 6);
  if (app.quotaClears.month !== month) app.quotaClears = { month, count: 0 };
  if (app.quotaClears.count >= MONTHLY_QUOTA_CLEARS) {
    reject(48006, 'forbid to clear quota because of reaching the limit');
  }
  app.quotaClears.count++;
  app.quotaClearedAt = now;
}

function usedToday(ctx: Ctx, path: string): number {
  const since = Math.max(startOfChinaDay(ctx.now), ctx.app.quotaClearedAt);
  const appId = ctx.request.appId;
  if (path === '/cgi-bin/token') return ctx.sim.tokenCalls(appId).token;
  if (path === '/cgi-bin/stable_token') return ctx.sim.tokenCalls(appId).stableToken;
  if (path === '/cgi-bin/message/custom/send') {
    return ctx.sim.customMessageTimes(appId).filter((at) => at >= since).length;
  }
  // NOTE: the request being answered is recorded already; WeChat's count also includes it
  return ctx.sim.requestTimes(appId, path).filter((at) => at >= since).length;
}

/** `POST /cgi-bin/clear_quota/v2`: authenticated by AppSecret, not by an access_token. */
export function registerClearQuotaV2(scope: FastifyInstance, sim: SimulatorHandle): void {
  const fail = (code: number, message: string): object => sim.wechatError(code, message);
  scope.post('/cgi-bin/clear_quota/v2', async (request) => {
    const q = request.query as Record<string, unknown>;
    const body = isObject(request.body) ? request.body : {};
    const appId = str(q.appid) ?? str(body.appid);
    const secret = str(q.appsecret) ?? str(body.appsecret);
    if (!appId) return fail(41002, 'appid missing');
    if (!secret) return fail(41004, 'appsecret missing');
    if (!sim.hasApp(appId)) return fail(40013, 'invalid appid');
    if (!sim.verifyAppSecret(appId, secret)) return fail(40125, 'invalid appsecret');
    try {
      clearQuota(appOf(sim, appId), sim.now());
    } catch (error) {
      if (error instanceof Reject) return fail(error.errcode, error.errmsg);
      throw error;
    }
    return OK;
  });
}
