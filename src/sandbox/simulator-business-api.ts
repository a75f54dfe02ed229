import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { chinaDay } from '../common/time';
import type { BusinessRequest, BusinessResult, BusinessRoute, WechatSimulator } from './wechat-simulator';

/*
 * WeChat's business APIs as the simulator serves them: in-memory state per simulator and per app, request
 * shapes checked the way WeChat checks them, realistic answers. The simulator core adds the token check
 * (41001/40001/42001), fault injection, counting and request recording to every route of WECHAT_BUSINESS_API;
 * registerSandboxPlatformRoutes adds the endpoints that take no basic token (OAuth, clear_quota/v2) and a few
 * control routes under /sandbox/.
 */

// ---------------------------------------------------------------------------------------------- constants

/** Followers every app starts with: `sandboxOpenid(1)` … `sandboxOpenid(SANDBOX_USER_COUNT)`. */
export const SANDBOX_USER_COUNT = 5;
/** A user who followed once and left: `user/info` says `subscribe: 0`, messages to them fail with 43004. */
export const SANDBOX_UNSUBSCRIBED_OPENID = 'o_sandbox_left_0000000000001';
/** Openids per page of `user/get`, `user/tag/get` and `getblacklist`, as on WeChat. */
export const SANDBOX_USER_PAGE_SIZE = 10_000;
/** A template id the simulator accepts (any 43 characters of `[A-Za-z0-9_-]` do). */
export const SANDBOX_TEMPLATE_ID = 'sandboxTemplate0000000000000000000000000001';

/** The openid of seeded follower `index` (1-based), 28 characters like WeChat's. */
export function sandboxOpenid(index: number): string {
  return `o_sandbox_user_${String(index).padStart(13, '0')}`;
}

const MEDIA_LIFETIME_MS = 3 * 86_400_000;
const OAUTH_CODE_LIFETIME_MS = 5 * 60_000;
const REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;
const MAX_SHORT_KEY_SECONDS = 2_592_000;
const MAX_QR_EXPIRE_SECONDS = 2_592_000;
const MONTHLY_QUOTA_CLEARS = 10;
/** Bytes of media + material kept per app before the oldest are forgotten (a long-running sandbox stays bounded). */
const MAX_STORED_BYTES_PER_APP = 256 * 1024 * 1024;
const MAX_RIDS = 2_000;
const MAX_OAUTH_ENTRIES = 20_000;

const TEMP_MEDIA: Record<string, { limit: number; extensions: string[] }> = {
  image: { limit: 10 * 1024 * 1024, extensions: ['jpg', 'jpeg', 'png', 'gif', 'bmp'] },
  voice: { limit: 2 * 1024 * 1024, extensions: ['amr', 'mp3', 'speex'] },
  video: { limit: 10 * 1024 * 1024, extensions: ['mp4'] },
  thumb: { limit: 64 * 1024, extensions: ['jpg', 'jpeg'] },
};
const MATERIAL: Record<string, { limit: number; extensions: string[] }> = {
  image: { limit: 10 * 1024 * 1024, extensions: ['jpg', 'jpeg', 'png', 'gif', 'bmp'] },
  voice: { limit: 2 * 1024 * 1024, extensions: ['mp3', 'wma', 'wav', 'amr'] },
  video: { limit: 10 * 1024 * 1024, extensions: ['mp4'] },
  thumb: { limit: 64 * 1024, extensions: ['jpg', 'jpeg'] },
};
const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  amr: 'audio/amr',
  mp3: 'audio/mpeg',
  speex: 'audio/speex',
  wma: 'audio/x-ms-wma',
  wav: 'audio/wav',
  mp4: 'video/mp4',
};

const LEAF_TYPES: Record<string, 'key' | 'url' | 'miniprogram' | 'media_id' | 'article_id'> = {
  click: 'key',
  scancode_push: 'key',
  scancode_waitmsg: 'key',
  pic_sysphoto: 'key',
  pic_photo_or_album: 'key',
  pic_weixin: 'key',
  location_select: 'key',
  view: 'url',
  miniprogram: 'miniprogram',
  media_id: 'media_id',
  view_limited: 'media_id',
  article_id: 'article_id',
  article_view_limited: 'article_id',
};

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

// ------------------------------------------------------------------------------------------------- state

interface SandboxUser {
  openid: string;
  subscribe: 0 | 1;
  subscribeTime: number;
  remark: string;
  tagIds: number[];
  blacklisted: boolean;
  nickname: string;
}

interface StoredFile {
  id: string;
  type: string;
  data: Buffer;
  contentType: string;
  filename: string;
  createdAt: number;
  title?: string;
  introduction?: string;
  url?: string;
}

interface RidRecord {
  appId: string;
  path: string;
  invokeTime: number;
  requestUrl: string;
  requestBody: string;
  responseBody: string;
}

interface AppBusinessState {
  users: Map<string, SandboxUser>;
  menu?: { button: unknown[]; menuid: string };
  conditionalMenus: Map<string, { button: unknown[]; matchrule: Record<string, unknown>; menuid: string }>;
  tags: Map<number, string>;
  nextTagId: number;
  media: Map<string, StoredFile>;
  materials: Map<string, StoredFile>;
  storedBytes: number;
  shortKeys: Map<string, { longData: string; createTime: number; expiresAt: number }>;
  tickets: Map<string, { type: TicketType; expiresAt: number }>;
  ticketCounts: Record<TicketType, number>;
  quotaClears: { month: string; count: number };
  quotaClearedAt: number;
}

type TicketType = 'jsapi' | 'wx_card';

interface OAuthGrant {
  appId: string;
  openid: string;
  scope: string;
  expiresAt: number;
}

interface BusinessState {
  apps: Map<string, AppBusinessState>;
  rids: Map<string, RidRecord>;
  codes: Map<string, OAuthGrant & { used: boolean }>;
  webTokens: Map<string, OAuthGrant>;
  refreshTokens: Map<string, OAuthGrant>;
  seq: number;
}

const STATES = new WeakMap<WechatSimulator, BusinessState>();

function stateOf(sim: WechatSimulator): BusinessState {
  let state = STATES.get(sim);
  if (!state) {
    state = {
      apps: new Map(),
      rids: new Map(),
      codes: new Map(),
      webTokens: new Map(),
      refreshTokens: new Map(),
      seq: 0,
    };
    STATES.set(sim, state);
  }
  return state;
}

function appOf(sim: WechatSimulator, appId: string): AppBusinessState {
  const state = stateOf(sim);
  let app = state.apps.get(appId);
  if (!app) {
    app = {
      users: new Map(),
      conditionalMenus: new Map(),
      tags: new Map(),
      nextTagId: 100,
      media: new Map(),
      materials: new Map(),
      storedBytes: 0,
      shortKeys: new Map(),
      tickets: new Map(),
      ticketCounts: { jsapi: 0, wx_card: 0 },
      quotaClears: { month: '', count: 0 },
      quotaClearedAt: 0,
    };
    for (let i = 1; i <= SANDBOX_USER_COUNT; i++) addUser(app, sandboxOpenid(i), 1, i);
    addUser(app, SANDBOX_UNSUBSCRIBED_OPENID, 0, 0);
    state.apps.set(appId, app);
  }
  return app;
}

function addUser(app: AppBusinessState, openid: string, subscribe: 0 | 1, index: number): void {
  app.users.set(openid, {
    openid,
    subscribe,
    subscribeTime: 1_700_000_000 + index * 3_600,
    remark: '',
    tagIds: [],
    blacklisted: false,
    nickname: `Sandbox User ${index}`,
  });
}

// ------------------------------------------------------------------------------------- public test helpers

/** Makes `appId` have `count` followers in all (`sandboxOpenid(1..count)`); returns their openids. */
export function seedSandboxUsers(sim: WechatSimulator, appId: string, count: number): string[] {
  const app = appOf(sim, appId);
  const openids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const openid = sandboxOpenid(i);
    if (!app.users.has(openid)) addUser(app, openid, 1, i);
    openids.push(openid);
  }
  return openids;
}

/** JS-SDK / card tickets issued per app and type since the simulator started. */
export function sandboxTicketStats(sim: WechatSimulator): Record<string, Record<TicketType, number>> {
  const result: Record<string, Record<TicketType, number>> = {};
  for (const [appId, app] of stateOf(sim).apps) result[appId] = { ...app.ticketCounts };
  return result;
}

/** Every JS-SDK / card ticket, OAuth code and web token this simulator remembers having issued (tests grep logs for them). */
export function sandboxIssuedSecrets(sim: WechatSimulator): {
  tickets: string[];
  codes: string[];
  webTokens: string[];
} {
  const state = stateOf(sim);
  return {
    tickets: [...state.apps.values()].flatMap((app) => [...app.tickets.keys()]),
    codes: [...state.codes.keys()],
    webTokens: [...state.webTokens.keys(), ...state.refreshTokens.keys()],
  };
}

/** Whether `ticket` was issued by this simulator to `appId` and is still valid. */
export function checkSandboxTicket(
  sim: WechatSimulator,
  appId: string,
  ticket: string,
): { state: 'valid' | 'expired' | 'invalid'; type?: TicketType } {
  const record = stateOf(sim).apps.get(appId)?.tickets.get(ticket);
  if (!record) return { state: 'invalid' };
  return { state: sim.now() < record.expiresAt ? 'valid' : 'expired', type: record.type };
}

/**
 * Stands in for the user consenting on WeChat's authorize page: a single-use `code` (5 minutes) for
 * `openid` (default the first seeded follower) and `scope` (default `snsapi_userinfo`).
 */
export function mintSandboxOAuthCode(
  sim: WechatSimulator,
  options: { appId: string; openid?: string; scope?: 'snsapi_base' | 'snsapi_userinfo' },
): { code: string; openid: string; scope: string } {
  if (!sim.hasApp(options.appId)) throw new Error(`unknown app ${options.appId}`);
  const scope = options.scope ?? 'snsapi_userinfo';
  if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo')
    throw new Error('scope must be snsapi_base or snsapi_userinfo');
  const openid = options.openid ?? sandboxOpenid(1);
  if (!/^[\w-]{1,64}$/.test(openid)) throw new Error('openid must be 1 to 64 letters, digits, _ or -');
  const state = stateOf(sim);
  const code = randomToken(24);
  bounded(state.codes, sim.now()).set(code, {
    appId: options.appId,
    openid,
    scope,
    expiresAt: sim.now() + OAUTH_CODE_LIFETIME_MS,
    used: false,
  });
  return { code, openid, scope };
}

/** Forgets every app's business state (users, menus, tags, media, tickets, OAuth grants). */
export function resetSandboxBusinessState(sim: WechatSimulator): void {
  STATES.delete(sim);
}

// -------------------------------------------------------------------------------------------- route plumbing

/** A WeChat error answer raised inside a handler. */
class Reject {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {}
}

function reject(errcode: number, errmsg: string): never {
  throw new Reject(errcode, errmsg);
}

interface Ctx {
  request: BusinessRequest;
  sim: WechatSimulator;
  app: AppBusinessState;
  state: BusinessState;
  now: number;
}

function route(method: 'GET' | 'POST', path: string, handler: (ctx: Ctx) => BusinessResult): BusinessRoute {
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

const OK = { errcode: 0, errmsg: 'ok' } as const;

/** The JSON object body, or 44002 (empty) / 47001 (not JSON). */
function jsonBody(ctx: Ctx): Record<string, unknown> {
  if (ctx.request.body.length === 0) reject(44002, 'empty post data');
  const body = ctx.request.json();
  if (!body) reject(47001, 'data format error');
  return body;
}

function str(value: unknown): string | undefined {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof first === 'string' && first.length > 0 ? first : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

function randomToken(size: number): string {
  return randomBytes(size).toString('base64url');
}

function bounded<K, V extends { expiresAt: number }>(map: Map<K, V>, now: number): Map<K, V> {
  if (map.size >= MAX_OAUTH_ENTRIES) {
    for (const [key, value] of map) if (value.expiresAt < now) map.delete(key);
    while (map.size >= MAX_OAUTH_ENTRIES) map.delete(map.keys().next().value as K);
  }
  return map;
}

/** A known user of the app, or 40003. */
function userOf(ctx: Ctx, openid: unknown): SandboxUser {
  const user = typeof openid === 'string' ? ctx.app.users.get(openid) : undefined;
  if (!user) reject(40003, 'invalid openid');
  return user;
}

function followers(app: AppBusinessState): string[] {
  return [...app.users.values()].filter((u) => u.subscribe === 1).map((u) => u.openid);
}

/** A page of openids after `after` ('' = from the start), WeChat-shaped. */
function openidPage(openids: string[], after: string, extra: Record<string, unknown> = {}): object {
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

function startOfChinaDay(now: number): number {
  const offset = 8 * 3_600_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 - offset;
}

// ------------------------------------------------------------------------------------------------- menus

function checkMenu(button: unknown): void {
  if (!Array.isArray(button) || button.length < 1 || button.length > 3) reject(40016, 'invalid button size');
  for (const top of button) {
    if (!isObject(top)) reject(47001, 'data format error');
    const name = top.name;
    if (typeof name !== 'string' || name.length === 0 || bytes(name) > 16)
      reject(40018, 'invalid button name size');
    if (Array.isArray(top.sub_button) && top.sub_button.length > 0) {
      if (top.sub_button.length > 5) reject(40023, 'invalid sub button size');
      for (const sub of top.sub_button) {
        if (!isObject(sub)) reject(47001, 'data format error');
        if (typeof sub.name !== 'string' || sub.name.length === 0 || bytes(sub.name) > 60) {
          reject(40025, 'invalid sub button name size');
        }
        checkLeaf(
          sub,
          [40024, 'invalid sub button type'],
          [40026, 'invalid sub button key size'],
          [40027, 'invalid sub button url size'],
        );
      }
    } else {
      checkLeaf(
        top,
        [40017, 'invalid button type'],
        [40019, 'invalid button key size'],
        [40020, 'invalid button url size'],
      );
    }
  }
}

function checkLeaf(
  button: Record<string, unknown>,
  badType: [number, string],
  badKey: [number, string],
  badUrl: [number, string],
): void {
  const kind = typeof button.type === 'string' ? LEAF_TYPES[button.type] : undefined;
  if (!kind) reject(...badType);
  const text = (field: string, max: number): boolean =>
    typeof button[field] === 'string' &&
    (button[field] as string).length > 0 &&
    bytes(button[field] as string) <= max;
  if (kind === 'key' && !text('key', 128)) reject(...badKey);
  if ((kind === 'url' || kind === 'miniprogram') && !text('url', 1024)) reject(...badUrl);
  if (kind === 'miniprogram' && !(text('appid', 64) && text('pagepath', 1024)))
    reject(47001, 'data format error');
  if (kind === 'media_id' && !text('media_id', 128)) reject(40007, 'invalid media_id');
  if (kind === 'article_id' && !text('article_id', 128)) reject(47001, 'data format error');
}

function selfMenuButtons(buttons: unknown[]): unknown[] {
  return buttons.map((button) => {
    const b = button as Record<string, unknown>;
    if (Array.isArray(b.sub_button) && b.sub_button.length > 0) {
      return { name: b.name, sub_button: { list: b.sub_button } };
    }
    return b;
  });
}

const MENU_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/menu/create', (ctx) => {
    const body = jsonBody(ctx);
    checkMenu(body.button);
    ctx.app.menu = {
      button: structuredClone(body.button as unknown[]),
      menuid: String(208_379_533 + ++ctx.state.seq),
    };
    return OK;
  }),
  route('GET', '/cgi-bin/menu/get', (ctx) => {
    const { menu, conditionalMenus } = ctx.app;
    if (!menu) reject(46003, 'menu no exist');
    return {
      menu: { button: menu.button, menuid: menu.menuid },
      ...(conditionalMenus.size > 0 ? { conditionalmenu: [...conditionalMenus.values()] } : {}),
    };
  }),
  route('GET', '/cgi-bin/menu/delete', (ctx) => {
    ctx.app.menu = undefined;
    ctx.app.conditionalMenus.clear();
    return OK;
  }),
  route('POST', '/cgi-bin/menu/addconditional', (ctx) => {
    const body = jsonBody(ctx);
    if (!ctx.app.menu) reject(65303, 'there is no default menu');
    checkMenu(body.button);
    const rule = body.matchrule;
    const fields = ['tag_id', 'client_platform_type', 'sex', 'country', 'province', 'city', 'language'];
    if (!isObject(rule) || !fields.some((field) => rule[field] !== undefined && rule[field] !== '')) {
      reject(65304, 'match rule empty');
    }
    if (rule.tag_id !== undefined && !ctx.app.tags.has(Number(rule.tag_id))) reject(40050, 'invalid tag id');
    const menuid = String(408_379_533 + ++ctx.state.seq);
    ctx.app.conditionalMenus.set(menuid, {
      button: structuredClone(body.button as unknown[]),
      matchrule: rule,
      menuid,
    });
    return { menuid };
  }),
  route('POST', '/cgi-bin/menu/delconditional', (ctx) => {
    const menuid = String(jsonBody(ctx).menuid ?? '');
    if (!ctx.app.conditionalMenus.delete(menuid)) reject(65301, 'no such conditional menu');
    return OK;
  }),
  route('POST', '/cgi-bin/menu/trymatch', (ctx) => {
    const userId = jsonBody(ctx).user_id;
    const user = typeof userId === 'string' ? ctx.app.users.get(userId) : undefined;
    if (!user) reject(65302, 'user not exist');
    if (!ctx.app.menu) reject(46003, 'menu no exist');
    // the most recently added conditional menu that matches wins, as on WeChat
    const matching = [...ctx.app.conditionalMenus.values()]
      .reverse()
      .find((m) => m.matchrule.tag_id !== undefined && user.tagIds.includes(Number(m.matchrule.tag_id)));
    return { button: (matching ?? ctx.app.menu).button };
  }),
  route('GET', '/cgi-bin/get_current_selfmenu_info', (ctx) => {
    if (!ctx.app.menu) return { is_menu_open: 0 };
    return { is_menu_open: 1, selfmenu_info: { button: selfMenuButtons(ctx.app.menu.button) } };
  }),
];

// ---------------------------------------------------------------------------------------------- messages

function checkTemplateId(value: unknown): void {
  if (typeof value !== 'string' || !/^[\w-]{43}$/.test(value)) reject(40037, 'invalid template_id');
}

function checkTemplateData(value: unknown): void {
  if (!isObject(value)) reject(47001, 'data format error');
  for (const entry of Object.values(value)) {
    if (!isObject(entry) || typeof entry.value !== 'string') reject(47001, 'data format error');
  }
}

const MESSAGE_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/message/custom/typing', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    if (body.command !== 'Typing' && body.command !== 'CancelTyping') reject(47001, 'data format error');
    if (user.subscribe === 0) reject(45015, 'response out of time limit or subscription is canceled');
    return OK;
  }),
  route('POST', '/cgi-bin/message/template/send', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    checkTemplateId(body.template_id);
    checkTemplateData(body.data);
    if (body.url !== undefined && typeof body.url !== 'string') reject(47001, 'data format error');
    if (
      body.miniprogram !== undefined &&
      !(isObject(body.miniprogram) && typeof body.miniprogram.appid === 'string')
    ) {
      reject(47001, 'data format error');
    }
    if (user.subscribe === 0) reject(43004, 'require subscribe');
    return { ...OK, msgid: 2_000_000_000 + ++ctx.state.seq };
  }),
  route('POST', '/cgi-bin/message/subscribe/bizsend', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    checkTemplateId(body.template_id);
    checkTemplateData(body.data);
    if (user.subscribe === 0) reject(43101, 'user refuse to accept the msg');
    return OK;
  }),
];

// ------------------------------------------------------------------------------------------ users and tags

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

function checkTagName(ctx: Ctx, name: unknown, except?: number): string {
  if (typeof name !== 'string' || name.length === 0) reject(47001, 'data format error');
  if ([...name].length > 30) reject(45158, 'tag name too long');
  for (const [id, existing] of ctx.app.tags) {
    if (existing === name && id !== except) reject(45157, 'invalid tag name');
  }
  return name;
}

const USER_ROUTES: BusinessRoute[] = [
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
    const tag = jsonBody(ctx).tag;
    if (!isObject(tag)) reject(47001, 'data format error');
    const id = Number(tag.id);
    if (id >= 0 && id <= 2) reject(45058, "can't modify sys tag");
    tagIdOf(ctx, id);
    ctx.app.tags.set(id, checkTagName(ctx, tag.name, id));
    return OK;
  }),
  route('POST', '/cgi-bin/tags/delete', (ctx) => {
    const tag = jsonBody(ctx).tag;
    if (!isObject(tag)) reject(47001, 'data format error');
    const id = Number(tag.id);
    if (id >= 0 && id <= 2) reject(45058, "can't modify sys tag");
    tagIdOf(ctx, id);
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

// ---------------------------------------------------------------------------------------------- QR codes

const QRCODE_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/qrcode/create', (ctx) => {
    const body = jsonBody(ctx);
    const action = body.action_name;
    const scene =
      isObject(body.action_info) && isObject(body.action_info.scene) ? body.action_info.scene : undefined;
    if (!scene) reject(47001, 'data format error');
    const temporary = action === 'QR_SCENE' || action === 'QR_STR_SCENE';
    if (!temporary && action !== 'QR_LIMIT_SCENE' && action !== 'QR_LIMIT_STR_SCENE')
      reject(40053, 'invalid action name');
    if (action === 'QR_SCENE' || action === 'QR_LIMIT_SCENE') {
      const id = scene.scene_id;
      const max = action === 'QR_SCENE' ? 0xffff_ffff : 100_000;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > max)
        reject(40054, 'invalid scene id');
    } else {
      const text = scene.scene_str;
      if (typeof text !== 'string' || [...text].length < 1 || [...text].length > 64)
        reject(40054, 'invalid scene str');
    }
    let expireSeconds: number | undefined;
    if (temporary) {
      expireSeconds = body.expire_seconds === undefined ? 30 : Number(body.expire_seconds);
      if (
        !Number.isSafeInteger(expireSeconds) ||
        expireSeconds < 1 ||
        expireSeconds > MAX_QR_EXPIRE_SECONDS
      ) {
        reject(40055, 'invalid expire_seconds');
      }
    }
    const ticket = `gQ${randomToken(72)}`;
    const url = `http://weixin.qq.com/q/${randomToken(18)}`;
    return temporary ? { ticket, expire_seconds: expireSeconds, url } : { ticket, url };
  }),
];

// ------------------------------------------------------------------------------------- media and material

interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/**
 * Splits a multipart/form-data body at its boundary with Buffer searches; only the small part headers are
 * decoded to text, never the whole body.
 */
export function parseMultipart(body: Buffer, contentTypeHeader: string): MultipartPart[] | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentTypeHeader);
  const token = boundary?.[1] ?? boundary?.[2];
  if (!token) return null;
  const delimiter = Buffer.from(`--${token}`);
  const separator = Buffer.from(`\r\n--${token}`);
  const headerEnd = Buffer.from('\r\n\r\n');
  let position = body.indexOf(delimiter);
  if (position < 0) return null;
  const parts: MultipartPart[] = [];
  for (;;) {
    position += delimiter.length;
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return parts; // "--": the closing delimiter
    if (body[position] !== 0x0d || body[position + 1] !== 0x0a) return null;
    const headersStart = position + 2;
    const headersEnd = body.indexOf(headerEnd, headersStart);
    if (headersEnd < 0 || headersEnd - headersStart > 8192) return null;
    const headers = body.subarray(headersStart, headersEnd).toString('utf8');
    const dataStart = headersEnd + headerEnd.length;
    const next = body.indexOf(separator, dataStart);
    if (next < 0) return null;
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) return null;
    parts.push({
      name,
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
      contentType: /content-type:\s*([^\r\n;]+)/i.exec(headers)?.[1]?.trim(),
      data: body.subarray(dataStart, next),
    });
    position = next + 2;
  }
}

function extensionOf(filename: string | undefined): string {
  return /\.([A-Za-z0-9]+)$/.exec(filename ?? '')?.[1]?.toLowerCase() ?? '';
}

/** The `media` file of an upload, checked against the type's size and extension rules. */
function mediaPart(
  ctx: Ctx,
  rules: { limit: number; extensions: string[] },
): { part: MultipartPart; all: MultipartPart[] } {
  const contentType = String(ctx.request.headers['content-type'] ?? '');
  if (!/^multipart\/form-data/i.test(contentType)) reject(41005, 'media data missing');
  const parts = parseMultipart(ctx.request.body, contentType);
  if (!parts) reject(47001, 'data format error');
  const part = parts.find((p) => p.name === 'media' && p.filename !== undefined);
  if (!part || part.data.length === 0) reject(41005, 'media data missing');
  if (!rules.extensions.includes(extensionOf(part.filename))) reject(40005, 'invalid file type');
  if (part.data.length > rules.limit) reject(40006, 'invalid meida size');
  return { part, all: parts };
}

function store(app: AppBusinessState, into: Map<string, StoredFile>, file: StoredFile): void {
  into.set(file.id, file);
  app.storedBytes += file.data.length;
  // forget the oldest files (media first, then material) beyond the memory budget
  for (const map of [app.media, app.materials]) {
    for (const [id, old] of map) {
      if (app.storedBytes <= MAX_STORED_BYTES_PER_APP || id === file.id) break;
      map.delete(id);
      app.storedBytes -= old.data.length;
    }
  }
}

function forget(app: AppBusinessState, from: Map<string, StoredFile>, id: string): boolean {
  const file = from.get(id);
  if (!file) return false;
  from.delete(id);
  app.storedBytes -= file.data.length;
  return true;
}

function storedFile(type: string, part: MultipartPart, now: number): StoredFile {
  const extension = extensionOf(part.filename);
  return {
    id: randomToken(48),
    type,
    // a copy: the upload buffer is not kept alive through a view of it
    data: Buffer.from(part.data),
    contentType: part.contentType ?? CONTENT_TYPES[extension] ?? 'application/octet-stream',
    filename: part.filename ?? `media.${extension}`,
    createdAt: now,
  };
}

function fileResult(file: StoredFile): BusinessResult {
  return {
    binary: file.data,
    contentType: file.contentType,
    headers: { 'content-disposition': `attachment; filename="${file.filename.replace(/"/g, '')}"` },
  };
}

const MEDIA_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/media/upload', (ctx) => {
    const type = str(ctx.request.query.type);
    const rules = type === undefined ? undefined : TEMP_MEDIA[type];
    if (!type || !rules) reject(40004, 'invalid media type');
    const { part } = mediaPart(ctx, rules);
    const file = storedFile(type, part, ctx.now);
    store(ctx.app, ctx.app.media, file);
    const createdAt = Math.floor(ctx.now / 1000);
    return type === 'thumb'
      ? { type, thumb_media_id: file.id, created_at: createdAt }
      : { type, media_id: file.id, created_at: createdAt };
  }),
  route('GET', '/cgi-bin/media/get', (ctx) => {
    const file = ctx.app.media.get(str(ctx.request.query.media_id) ?? '');
    if (!file || ctx.now - file.createdAt > MEDIA_LIFETIME_MS) reject(40007, 'invalid media_id');
    if (file.type === 'video') return { video_url: `http://vweixinf.tc.qq.com/${file.id}.mp4` };
    return fileResult(file);
  }),
  route('POST', '/cgi-bin/media/uploadimg', (ctx) => {
    const { part } = mediaPart(ctx, { limit: 1024 * 1024, extensions: ['jpg', 'jpeg', 'png'] });
    return { url: `http://mmbiz.qpic.cn/sz_mmbiz_${extensionOf(part.filename)}/${randomToken(40)}/0` };
  }),
  route('POST', '/cgi-bin/material/add_material', (ctx) => {
    const type = str(ctx.request.query.type);
    const rules = type === undefined ? undefined : MATERIAL[type];
    if (!type || !rules) reject(40004, 'invalid media type');
    const { part, all } = mediaPart(ctx, rules);
    const file = storedFile(type, part, ctx.now);
    if (type === 'video') {
      const description = all.find((p) => p.name === 'description' && p.filename === undefined);
      let parsed: unknown;
      try {
        parsed = description ? JSON.parse(description.data.toString('utf8')) : undefined;
      } catch {
        parsed = undefined;
      }
      if (!isObject(parsed) || typeof parsed.title !== 'string' || !parsed.title)
        reject(40130, 'invalid video description');
      file.title = parsed.title;
      file.introduction = typeof parsed.introduction === 'string' ? parsed.introduction : '';
    }
    if (type === 'image')
      file.url = `http://mmbiz.qpic.cn/mmbiz_${extensionOf(part.filename)}/${randomToken(40)}/0`;
    store(ctx.app, ctx.app.materials, file);
    return file.url ? { media_id: file.id, url: file.url } : { media_id: file.id };
  }),
  route('POST', '/cgi-bin/material/get_material', (ctx) => {
    const file = ctx.app.materials.get(String(jsonBody(ctx).media_id ?? ''));
    if (!file) reject(40007, 'invalid media_id');
    if (file.type === 'video') {
      return {
        title: file.title,
        description: file.introduction,
        down_url: `http://www.qq.com/sandbox/${file.id}.mp4`,
      };
    }
    return fileResult(file);
  }),
  route('POST', '/cgi-bin/material/del_material', (ctx) => {
    if (!forget(ctx.app, ctx.app.materials, String(jsonBody(ctx).media_id ?? '')))
      reject(40007, 'invalid media_id');
    return OK;
  }),
  route('GET', '/cgi-bin/material/get_materialcount', (ctx) => {
    const count = (type: string): number =>
      [...ctx.app.materials.values()].filter((f) => f.type === type).length;
    return {
      voice_count: count('voice'),
      video_count: count('video'),
      image_count: count('image'),
      news_count: 0,
    };
  }),
  route('POST', '/cgi-bin/material/batchget_material', (ctx) => {
    const body = jsonBody(ctx);
    const { type } = body;
    if (type !== 'image' && type !== 'video' && type !== 'voice' && type !== 'news' && type !== 'thumb') {
      reject(40004, 'invalid media type');
    }
    const offset = Number(body.offset ?? 0);
    const count = Number(body.count ?? 20);
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      !Number.isSafeInteger(count) ||
      count < 1 ||
      count > 20
    ) {
      reject(47001, 'data format error');
    }
    const all = [...ctx.app.materials.values()].filter((f) => f.type === type).reverse();
    const page = all.slice(offset, offset + count);
    return {
      total_count: all.length,
      item_count: page.length,
      item: page.map((f) => ({
        media_id: f.id,
        name: f.filename,
        update_time: Math.floor(f.createdAt / 1000),
        ...(f.url ? { url: f.url } : {}),
      })),
    };
  }),
];

// ------------------------------------------------------------------------------------ shorten, misc, quota

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** `datacube` reports cover at most this many days per call (user summary: 7). */
const USER_SUMMARY_MAX_DAYS = 7;

const DATACUBE_ROUTES: BusinessRoute[] = [
  // 用户增减数据: one entry per day of the range, no follows or unfollows in the sandbox
  route('POST', '/datacube/getusersummary', (ctx) => {
    const body = jsonBody(ctx);
    const begin = String(body.begin_date ?? '');
    const end = String(body.end_date ?? '');
    if (!DATE.test(begin) || !DATE.test(end)) reject(47001, 'data format error');
    const days = (Date.parse(`${end}T00:00:00Z`) - Date.parse(`${begin}T00:00:00Z`)) / 86_400_000 + 1;
    if (!Number.isInteger(days) || days < 1) reject(61500, 'date format error');
    if (days > USER_SUMMARY_MAX_DAYS) reject(61501, 'date range error');
    const list = Array.from({ length: days }, (_, i) => ({
      ref_date: new Date(Date.parse(`${begin}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
      user_source: 0,
      new_user: 0,
      cancel_user: 0,
    }));
    return { list };
  }),
];

const MISC_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/shorten/gen', (ctx) => {
    const body = jsonBody(ctx);
    const longData = body.long_data;
    if (typeof longData !== 'string' || longData.length === 0 || bytes(longData) > 4096)
      reject(47001, 'data format error');
    const expireSeconds =
      body.expire_seconds === undefined ? MAX_SHORT_KEY_SECONDS : Number(body.expire_seconds);
    if (!Number.isSafeInteger(expireSeconds) || expireSeconds < 1 || expireSeconds > MAX_SHORT_KEY_SECONDS) {
      reject(47001, 'data format error');
    }
    const shortKey = randomToken(12);
    ctx.app.shortKeys.set(shortKey, {
      longData,
      createTime: Math.floor(ctx.now / 1000),
      expiresAt: ctx.now + expireSeconds * 1000,
    });
    return { ...OK, short_key: shortKey };
  }),
  route('POST', '/cgi-bin/shorten/fetch', (ctx) => {
    const entry = ctx.app.shortKeys.get(String(jsonBody(ctx).short_key ?? ''));
    if (!entry || entry.expiresAt <= ctx.now) reject(40003, 'invalid short_key');
    return {
      ...OK,
      long_data: entry.longData,
      create_time: entry.createTime,
      expire_seconds: Math.floor((entry.expiresAt - ctx.now) / 1000),
    };
  }),
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
    if (!(path in DAILY_LIMITS) && !SERVED_PATHS.has(path)) reject(76021, 'cgi_path not found');
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
  route('GET', '/cgi-bin/ticket/getticket', (ctx) => {
    const type = str(ctx.request.query.type);
    if (type !== 'jsapi' && type !== 'wx_card') reject(40097, 'invalid args');
    const lifetime = ctx.sim.configure({}).tokenLifetimeSeconds;
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
  if (path === '/cgi-bin/token') return ctx.sim.stats().byApp[appId]?.token ?? 0;
  if (path === '/cgi-bin/stable_token') return ctx.sim.stats().byApp[appId]?.stableToken ?? 0;
  if (path === '/cgi-bin/message/custom/send') {
    return ctx.sim.customMessages().filter((m) => m.appId === appId && m.receivedAt >= since).length;
  }
  // NOTE: the request being answered is recorded already; WeChat's count also includes it
  return ctx.sim.requests(path).filter((r) => r.appId === appId && r.receivedAt >= since).length;
}

/** Every business endpoint of the simulator beyond the core's token, IP and custom-send routes. */
export const WECHAT_BUSINESS_API: BusinessRoute[] = [
  ...MENU_ROUTES,
  ...MESSAGE_ROUTES,
  ...USER_ROUTES,
  ...QRCODE_ROUTES,
  ...MEDIA_ROUTES,
  ...MISC_ROUTES,
  ...DATACUBE_ROUTES,
];

const SERVED_PATHS = new Set<string>([
  ...WECHAT_BUSINESS_API.map((r) => r.path),
  '/cgi-bin/getcallbackip',
  '/cgi-bin/get_api_domain_ip',
  '/cgi-bin/message/custom/send',
]);

// ------------------------------------------------------------------- routes without a basic access_token

type Query = Record<string, unknown>;
type WechatErrorAnswer = ReturnType<WechatSimulator['wechatError']>;

/**
 * The WeChat endpoints that take no basic access_token — OAuth (`/sns/oauth2/access_token`,
 * `/sns/oauth2/refresh_token`, `/sns/userinfo`, `/sns/auth`, and an auto-consenting `/connect/oauth2/authorize`
 * page) and `/cgi-bin/clear_quota/v2` — plus control routes: `POST /sandbox/oauth/code`,
 * `GET /sandbox/tickets/stats`, `GET /sandbox/tickets/issued`, `GET /sandbox/tickets/check?appid=&ticket=`, `POST /sandbox/users`,
 * `POST /sandbox/business/reset`. The simulator's default `routes` option.
 */
export function registerSandboxPlatformRoutes(scope: FastifyInstance, sim: WechatSimulator): void {
  const fail = (code: number, message: string): object => sim.wechatError(code, message);
  const state = (): BusinessState => stateOf(sim);

  scope.get('/sns/oauth2/access_token', async (request) => {
    const q = request.query as Query;
    const credentials = checkOAuthApp(sim, q, 'authorization_code', true);
    if ('errcode' in credentials) return credentials;
    const code = str(q.code);
    if (!code) return fail(41008, 'missing code');
    const grant = state().codes.get(code);
    if (!grant || grant.appId !== credentials.appId || grant.expiresAt <= sim.now())
      return fail(40029, 'invalid code');
    if (grant.used) return fail(40163, 'code been used');
    grant.used = true;
    const refreshToken = randomToken(64);
    bounded(state().refreshTokens, sim.now()).set(refreshToken, {
      ...grant,
      expiresAt: sim.now() + REFRESH_TOKEN_LIFETIME_MS,
    });
    return {
      ...issueWebToken(sim, grant),
      refresh_token: refreshToken,
      openid: grant.openid,
      scope: grant.scope,
      is_snapshotuser: 0,
    };
  });

  scope.get('/sns/oauth2/refresh_token', async (request) => {
    const q = request.query as Query;
    const credentials = checkOAuthApp(sim, q, 'refresh_token', false);
    if ('errcode' in credentials) return credentials;
    const refreshToken = str(q.refresh_token);
    if (!refreshToken) return fail(41003, 'missing refresh_token');
    const grant = state().refreshTokens.get(refreshToken);
    if (!grant || grant.appId !== credentials.appId) return fail(40030, 'invalid refresh_token');
    if (grant.expiresAt <= sim.now()) return fail(42002, 'refresh_token expired');
    return {
      ...issueWebToken(sim, grant),
      refresh_token: refreshToken,
      openid: grant.openid,
      scope: grant.scope,
    };
  });

  scope.get('/sns/userinfo', async (request) => {
    const q = request.query as Query;
    const grant = checkWebToken(sim, q);
    if ('errcode' in grant) return grant;
    if (!grant.scope.split(',').includes('snsapi_userinfo')) return fail(48001, 'api unauthorized');
    const index = Number(/(\d+)$/.exec(grant.openid)?.[1] ?? 0);
    return {
      openid: grant.openid,
      nickname: `Sandbox User ${index}`,
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: '',
      privilege: [],
    };
  });

  scope.get('/sns/auth', async (request) => {
    const grant = checkWebToken(sim, request.query as Query);
    return 'errcode' in grant ? grant : OK;
  });

  scope.get('/connect/oauth2/authorize', async (request, reply: FastifyReply) => {
    const q = request.query as Query;
    const appId = str(q.appid);
    const redirect = str(q.redirect_uri);
    const scopeName = str(q.scope);
    if (!appId || !sim.hasApp(appId)) return reply.code(400).type('text/plain').send('appid 参数错误');
    if (!redirect || !/^https?:\/\//.test(redirect))
      return reply.code(400).type('text/plain').send('redirect_uri 参数错误');
    if (str(q.response_type) !== 'code')
      return reply.code(400).type('text/plain').send('response_type 参数错误');
    if (scopeName !== 'snsapi_base' && scopeName !== 'snsapi_userinfo') {
      return reply.code(400).type('text/plain').send('scope 参数错误');
    }
    const { code } = mintSandboxOAuthCode(sim, { appId, scope: scopeName, openid: str(q.openid) });
    const target = new URL(redirect);
    target.searchParams.set('code', code);
    target.searchParams.set('state', typeof q.state === 'string' ? q.state : '');
    return reply.redirect(target.toString(), 302);
  });

  scope.post('/cgi-bin/clear_quota/v2', async (request) => {
    const q = request.query as Query;
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

  scope.post('/sandbox/oauth/code', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    try {
      return mintSandboxOAuthCode(sim, {
        appId: String(body.appid ?? ''),
        openid: typeof body.openid === 'string' ? body.openid : undefined,
        scope: body.scope as 'snsapi_base' | 'snsapi_userinfo' | undefined,
      });
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
  });

  scope.get('/sandbox/tickets/stats', async () => sandboxTicketStats(sim));

  scope.get('/sandbox/tickets/issued', async () => sandboxIssuedSecrets(sim));

  scope.get('/sandbox/tickets/check', async (request, reply) => {
    const q = request.query as Query;
    const appId = str(q.appid);
    const ticket = str(q.ticket);
    if (!appId || !ticket) return reply.code(400).send({ error: 'appid and ticket are required' });
    return checkSandboxTicket(sim, appId, ticket);
  });

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

function checkOAuthApp(
  sim: WechatSimulator,
  q: Query,
  grantType: string,
  needsSecret: boolean,
): { appId: string } | WechatErrorAnswer {
  const appId = str(q.appid);
  if (!appId) return sim.wechatError(41002, 'appid missing');
  if (needsSecret && !str(q.secret)) return sim.wechatError(41004, 'appsecret missing');
  if (str(q.grant_type) !== grantType) return sim.wechatError(40002, 'invalid grant_type');
  if (!sim.hasApp(appId)) return sim.wechatError(40013, 'invalid appid');
  if (needsSecret && !sim.verifyAppSecret(appId, str(q.secret) ?? ''))
    return sim.wechatError(40125, 'invalid appsecret');
  return { appId };
}

function issueWebToken(
  sim: WechatSimulator,
  grant: OAuthGrant,
): { access_token: string; expires_in: number } {
  const lifetime = sim.configure({}).tokenLifetimeSeconds;
  const token = randomToken(72);
  bounded(stateOf(sim).webTokens, sim.now()).set(token, {
    appId: grant.appId,
    openid: grant.openid,
    scope: grant.scope,
    expiresAt: sim.now() + lifetime * 1000,
  });
  return { access_token: token, expires_in: lifetime };
}

function checkWebToken(sim: WechatSimulator, q: Query): OAuthGrant | WechatErrorAnswer {
  const token = str(q.access_token);
  if (!token) return sim.wechatError(41001, 'access_token missing');
  const grant = stateOf(sim).webTokens.get(token);
  if (!grant) return sim.wechatError(40001, 'invalid credential, access_token is invalid or not latest');
  if (grant.expiresAt <= sim.now()) return sim.wechatError(42001, 'access_token expired');
  const openid = str(q.openid);
  if (!openid) return sim.wechatError(41009, 'missing openid');
  if (openid !== grant.openid) return sim.wechatError(40003, 'invalid openid');
  return grant;
}
