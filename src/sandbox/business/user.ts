import type { BusinessRoute } from './business-contract';
import type { SandboxUser } from './business-state';
import { followers, isObject, jsonBody, OK, openidPage, reject, route, str, userOf } from './business-route';

function userInfo(user: SandboxUser): object {
  if (user.subscribe === 0) return { subscribe: 0, openid: user.openid };
  return {
    subscribe: 1,
    openid: user.openid,
    language: 'zh_CN',
    subscribe_time: user.subscribeTime,
    remark: user.remark,
    groupid: user.tagIds[0] ?? 0,
    tagid_list: [...user.tagIds],
    subscribe_scene: 'ADD_SCENE_QR_CODE',
    qr_scene: 0,
    qr_scene_str: '',
  };
}

/** `/cgi-bin/user/*`: follower info, the follower list and remarks. */
export const USER_ROUTES: BusinessRoute[] = [
  route('GET', '/cgi-bin/user/info', (ctx) => {
    const openid = str(ctx.request.query.openid);
    if (!openid) reject(41009, 'missing openid');
    return userInfo(userOf(ctx, openid));
  }),
  route('GET', '/cgi-bin/user/get', (ctx) => {
    const all = followers(ctx.app);
    return openidPage(all, str(ctx.request.query.next_openid) ?? '', { total: all.length });
  }),
  route('POST', '/cgi-bin/user/info/batchget', (ctx) => {
    const list = jsonBody(ctx).user_list;
    if (!Array.isArray(list) || list.length === 0 || list.length > 100)
      reject(40032, 'invalid openid list size');
    return {
      user_info_list: list.map((entry) => userInfo(userOf(ctx, isObject(entry) ? entry.openid : undefined))),
    };
  }),
  route('POST', '/cgi-bin/user/info/updateremark', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.openid);
    if (typeof body.remark !== 'string') reject(47001, 'data format error');
    if ([...body.remark].length > 30) reject(45159, 'invalid remark size');
    user.remark = body.remark;
    return OK;
  }),
];
