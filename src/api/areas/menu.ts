import type { WechatCaller } from '../wechat-request';

/** Button types of a leaf button (`article_view_limited` is the legacy `view_limited`). */
export type MenuButtonType =
  | 'click'
  | 'view'
  | 'miniprogram'
  | 'scancode_push'
  | 'scancode_waitmsg'
  | 'pic_sysphoto'
  | 'pic_photo_or_album'
  | 'pic_weixin'
  | 'location_select'
  | 'media_id'
  | 'article_id'
  | 'article_view_limited'
  | 'view_limited';

/**
 * A leaf button. `name`: ≤ 16 bytes at the top level, ≤ 60 bytes in a sub-menu (about 4 / 8 Chinese
 * characters are shown, the rest as "..."). Which other fields apply depends on `type`: `key` (≤ 128 bytes)
 * for click, scancode_*, pic_* and location_select; `url` (≤ 1024 bytes) for view and as the fallback of
 * miniprogram (with `appid` and `pagepath`); `media_id` for media_id / view_limited; `article_id` for
 * article_id / article_view_limited.
 */
export interface MenuLeafButton {
  type: MenuButtonType;
  name: string;
  key?: string;
  url?: string;
  appid?: string;
  pagepath?: string;
  media_id?: string;
  article_id?: string;
}

/** A top-level button opening a sub-menu of 1 to 5 buttons; it has a name and nothing else. */
export interface MenuParentButton {
  name: string;
  sub_button: MenuLeafButton[];
}

export type MenuButton = MenuLeafButton | MenuParentButton;

/** A menu: 1 to 3 top-level buttons. */
export interface Menu {
  button: MenuButton[];
}

/**
 * Who sees a conditional menu. At least one field is required; `tag_id` is the one WeChat still honours for
 * new menus (the profile fields sex/country/province/city/language are deprecated).
 */
export interface MenuMatchRule {
  tag_id?: string;
  /** `1` iOS, `2` Android, `3` others. */
  client_platform_type?: string;
  sex?: string;
  country?: string;
  province?: string;
  city?: string;
  language?: string;
}

export interface ConditionalMenu extends Menu {
  matchrule: MenuMatchRule;
  menuid?: string | number;
}

/** `GET /cgi-bin/menu/get`: the default menu and the conditional ones. */
export interface MenuGetResult {
  menu: Menu & { menuid?: string | number };
  conditionalmenu?: ConditionalMenu[];
}

/** A button as `get_current_selfmenu_info` shows it: sub-menus are `{ list: [...] }`. */
export interface SelfMenuButton extends Partial<MenuLeafButton> {
  name: string;
  /** Present for buttons set in the console that carry content (news, text, …). */
  value?: string;
  news_info?: { list: Record<string, unknown>[] };
  sub_button?: { list: SelfMenuButton[] };
}

/** `GET /cgi-bin/get_current_selfmenu_info`: the menu in force, whether set by API or in the console. */
export interface SelfMenuInfo {
  /** 1 when a menu is enabled, 0 otherwise. */
  is_menu_open: 0 | 1;
  selfmenu_info?: { button: SelfMenuButton[] };
}

/**
 * Custom menus (`/cgi-bin/menu/*`). Rules (WeChat): ≤ 3 top-level buttons, ≤ 5 sub-buttons each; clients
 * refetch a changed menu when the user enters the chat and their copy is over 5 minutes old. Default daily
 * quotas: create/delete 1,000, get 10,000. Limits are checked by WeChat, not here (it answers 40016–40027).
 */
export class MenuApi {
  constructor(private readonly client: WechatCaller) {}

  /** `POST /cgi-bin/menu/create`: replaces the default menu. */
  async create(appId: string, menu: Menu): Promise<void> {
    await this.client.request(appId, { method: 'POST', path: '/cgi-bin/menu/create', json: menu });
  }

  /** `GET /cgi-bin/menu/get`. WeChat answers 46003 (a plain WechatApiError) when there is no menu. */
  get(appId: string): Promise<MenuGetResult> {
    return this.client.request<MenuGetResult>(appId, { method: 'GET', path: '/cgi-bin/menu/get' });
  }

  /** `GET /cgi-bin/menu/delete`: removes the default menu and every conditional menu. */
  async delete(appId: string): Promise<void> {
    await this.client.request(appId, { method: 'GET', path: '/cgi-bin/menu/delete' });
  }

  /** `POST /cgi-bin/menu/addconditional`: needs a default menu first (else 65303). Returns the new `menuid`. */
  async addConditional(appId: string, menu: ConditionalMenu): Promise<string> {
    const result = await this.client.request<{ menuid: string | number }>(appId, {
      method: 'POST',
      path: '/cgi-bin/menu/addconditional',
      json: { button: menu.button, matchrule: menu.matchrule },
    });
    return String(result.menuid);
  }

  /** `POST /cgi-bin/menu/delconditional`. */
  async deleteConditional(appId: string, menuid: string | number): Promise<void> {
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/menu/delconditional',
      json: { menuid: String(menuid) },
    });
  }

  /** `POST /cgi-bin/menu/trymatch`: the menu a user (openid or WeChat ID) would see. */
  tryMatch(appId: string, userId: string): Promise<Menu> {
    return this.client.request<Menu>(appId, {
      method: 'POST',
      path: '/cgi-bin/menu/trymatch',
      json: { user_id: userId },
    });
  }

  /** `GET /cgi-bin/get_current_selfmenu_info`. */
  currentSelfMenuInfo(appId: string): Promise<SelfMenuInfo> {
    return this.client.request<SelfMenuInfo>(appId, {
      method: 'GET',
      path: '/cgi-bin/get_current_selfmenu_info',
    });
  }
}
