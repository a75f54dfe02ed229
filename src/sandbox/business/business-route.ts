import { randomBytes } from 'node:crypto';
import type { BusinessRequest, BusinessResult, BusinessRoute, SimulatorHandle } from './business-contract';
import {
  appOf,
  stateOf,
  SANDBOX_USER_PAGE_SIZE,
  type AppBusinessState,
  type BusinessState,
  type SandboxUser,
} from './business-state';

/*
 * What every area's routes are made with: route() builds a BusinessRoute from a handler of a Ctx (the request, the
 * simulator, the app's state, the time); reject() answers a WeChat error, remembered by its rid for
 * `openapi/rid/get`; and the request helpers the areas share.
 */

/** Failed answers remembered for `openapi/rid/get`, oldest forgotten first. */
const MAX_RIDS = 2_000;

/** A WeChat error answer raised inside a handler. */
export class Reject {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {}
}

export function reject(errcode: number, errmsg: string): never {
  throw new Reject(errcode, errmsg);
}

export interface Ctx {
  request: BusinessRequest;
  sim: SimulatorHandle;
  app: AppBusinessState;
  state: BusinessState;
  now: number;
}

export function route(
  method: 'GET' | 'POST',
  path: string,
  handler: (ctx: Ctx) => BusinessResult,
): BusinessRoute {
  return {
    method,
    path,
    handler: (request, sim) => {
      const state = stateOf(sim);
      const ctx: Ctx = { request, sim, state, app: appOf(sim, request.appId), now: sim.now() };
      try {
        return handler(ctx);
      } catch (error) {
        if (!(error instanceof Reject)) throw error;
        return wechatFailure(ctx, error);
      }
    },
  };
}

function wechatFailure(ctx: Ctx, error: Reject): object {
  const answer = ctx.sim.wechatError(error.errcode, error.errmsg);
  const rid = / rid: (\S+)$/.exec(String((answer as { errmsg?: unknown }).errmsg))?.[1];
  if (rid) {
    const { request } = ctx;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query)) {
      if (key !== 'access_token' && typeof value === 'string') query.set(key, value);
    }
    const rids = ctx.state.rids;
    if (rids.size >= MAX_RIDS) rids.delete(rids.keys().next().value as string);
    rids.set(rid, {
      appId: request.appId,
      path: request.path,
      invokeTime: Math.floor(ctx.now / 1000),
      requestUrl: `${request.path}${query.size > 0 ? `?${query.toString()}` : ''}`,
      requestBody: request.json() ? request.body.toString('utf8').slice(0, 4096) : '',
      responseBody: JSON.stringify(answer),
    });
  }
  return answer;
}

export const OK = { errcode: 0, errmsg: 'ok' } as const;

/** The JSON object body, or 44002 (empty) / 47001 (not JSON). */
export function jsonBody(ctx: Ctx): Record<string, unknown> {
  if (ctx.request.body.length === 0) reject(44002, 'empty post data');
  const body = ctx.request.json();
  if (!body) reject(47001, 'data format error');
  return body;
}

export function str(value: unknown): string | undefined {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof first === 'string' && first.length > 0 ? first : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export function randomToken(size: number): string {
  return randomBytes(size).toString('base64url');
}

/** A known user of the app, or 40003. */
export function userOf(ctx: Ctx, openid: unknown): SandboxUser {
  const user = typeof openid === 'string' ? ctx.app.users.get(openid) : undefined;
  if (!user) reject(40003, 'invalid openid');
  return user;
}

export function followers(app: AppBusinessState): string[] {
  return [...app.users.values()].filter((u) => u.subscribe === 1).map((u) => u.openid);
}

/** A page of openids after `after` ('' = from the start), WeChat-shaped. */
export function openidPage(openids: string[], after: string, extra: Record<string, unknown> = {}): object {
  let start = 0;
  if (after) {
    const index = openids.indexOf(after);
    if (index < 0) reject(40003, 'invalid next openid');
    start = index + 1;
  }
  const page = openids.slice(start, start + SANDBOX_USER_PAGE_SIZE);
  if (page.length === 0) return { ...extra, count: 0, next_openid: '' };
  return { ...extra, count: page.length, data: { openid: page }, next_openid: page[page.length - 1] };
}

export function startOfChinaDay(now: number): number {
  const offset = 8 * 3_600_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 - offset;
}
