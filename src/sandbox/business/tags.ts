import type { BusinessRoute } from './business-contract';
import { isObject, jsonBody, OK, openidPage, reject, route, userOf, type Ctx } from './business-route';

function openidList(value: unknown, max: number): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max)
    reject(40032, 'invalid openid list size');
  return value.map((openid) => (typeof openid === 'string' ? openid : reject(40003, 'invalid openid')));
}

function tagIdOf(ctx: Ctx, value: unknown): number {
  const id = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!ctx.app.tags.has(id) && id !== 2) reject(45159, 'invalid tag id');
  return id;
}

/** The tag of a request body that names one of the account's own tags (WeChat's tags 0–2 are refused). */
function changeableTag(ctx: Ctx): { tag: Record<string, unknown>; id: number } {
  const tag = jsonBody(ctx).tag;
  if (!isObject(tag)) reject(47001, 'data format error');
  const id = Number(tag.id);
  if (id >= 0 && id <= 2) reject(45058, "can't modify sys tag");
  tagIdOf(ctx, id);
  return { tag, id };
}

function checkTagName(ctx: Ctx, name: unknown, except?: number): string {
  if (typeof name !== 'string' || name.length === 0) reject(47001, 'data format error');
  if ([...name].length > 30) reject(45158, 'tag name too long');
  for (const [id, existing] of ctx.app.tags) {
    if (existing === name && id !== except) reject(45157, 'invalid tag name');
  }
  return name;
}

/** `/cgi-bin/tags/*` and `user/tag/get`: tags, their members and the blacklist. */
export const TAG_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/tags/create', (ctx) => {
    const tag = jsonBody(ctx).tag;
    if (!isObject(tag)) reject(47001, 'data format error');
    const name = checkTagName(ctx, tag.name);
    if (ctx.app.tags.size >= 100) reject(45056, 'too many tags');
    const id = ctx.app.nextTagId++;
    ctx.app.tags.set(id, name);
    return { tag: { id, name } };
  }),
  route('GET', '/cgi-bin/tags/get', (ctx) => {
    const users = [...ctx.app.users.values()];
    const count = (id: number): number => users.filter((u) => u.tagIds.includes(id)).length;
    return {
      tags: [
        { id: 2, name: '星标组', count: count(2) },
        ...[...ctx.app.tags].map(([id, name]) => ({ id, name, count: count(id) })),
      ],
    };
  }),
  route('POST', '/cgi-bin/tags/update', (ctx) => {
    const { tag, id } = changeableTag(ctx);
    ctx.app.tags.set(id, checkTagName(ctx, tag.name, id));
    return OK;
  }),
  route('POST', '/cgi-bin/tags/delete', (ctx) => {
    const { id } = changeableTag(ctx);
    ctx.app.tags.delete(id);
    for (const user of ctx.app.users.values()) user.tagIds = user.tagIds.filter((t) => t !== id);
    return OK;
  }),
  route('POST', '/cgi-bin/tags/members/batchtagging', (ctx) => {
    const body = jsonBody(ctx);
    const openids = openidList(body.openid_list, 50);
    const id = tagIdOf(ctx, body.tagid);
    const users = openids.map((openid) => userOf(ctx, openid));
    for (const user of users) {
      if (!user.tagIds.includes(id) && user.tagIds.length >= 20) reject(45059, 'has too many tags');
    }
    for (const user of users) if (!user.tagIds.includes(id)) user.tagIds.push(id);
    return OK;
  }),
  route('POST', '/cgi-bin/tags/members/batchuntagging', (ctx) => {
    const body = jsonBody(ctx);
    const openids = openidList(body.openid_list, 50);
    const id = tagIdOf(ctx, body.tagid);
    for (const user of openids.map((openid) => userOf(ctx, openid)))
      user.tagIds = user.tagIds.filter((t) => t !== id);
    return OK;
  }),
  route('POST', '/cgi-bin/user/tag/get', (ctx) => {
    const body = jsonBody(ctx);
    const id = tagIdOf(ctx, body.tagid);
    const members = [...ctx.app.users.values()].filter((u) => u.tagIds.includes(id)).map((u) => u.openid);
    return openidPage(members, typeof body.next_openid === 'string' ? body.next_openid : '');
  }),
  route('POST', '/cgi-bin/tags/getidlist', (ctx) => ({
    tagid_list: [...userOf(ctx, jsonBody(ctx).openid).tagIds],
  })),
  route('POST', '/cgi-bin/tags/members/getblacklist', (ctx) => {
    const body = ctx.request.body.length === 0 ? {} : jsonBody(ctx);
    const listed = [...ctx.app.users.values()].filter((u) => u.blacklisted).map((u) => u.openid);
    return openidPage(listed, typeof body.begin_openid === 'string' ? body.begin_openid : '', {
      total: listed.length,
    });
  }),
  route('POST', '/cgi-bin/tags/members/batchblacklist', (ctx) => {
    const users = openidList(jsonBody(ctx).openid_list, 20).map((openid) => userOf(ctx, openid));
    for (const user of users) user.blacklisted = true;
    return OK;
  }),
  route('POST', '/cgi-bin/tags/members/batchunblacklist', (ctx) => {
    const users = openidList(jsonBody(ctx).openid_list, 20).map((openid) => userOf(ctx, openid));
    for (const user of users) user.blacklisted = false;
    return OK;
  }),
];
