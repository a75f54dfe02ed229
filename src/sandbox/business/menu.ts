import type { BusinessRoute } from './business-contract';
import { bytes, isObject, jsonBody, OK, reject, route } from './business-route';

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

/** `/cgi-bin/menu/*` and `get_current_selfmenu_info`: the default menu and conditional menus. */
export const MENU_ROUTES: BusinessRoute[] = [
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
