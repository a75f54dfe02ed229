import type { WechatCaller } from '../wechat-request';

/** Language of the profile fields WeChat still fills in. */
export type UserLang = 'zh_CN' | 'zh_TW' | 'en';

/**
 * `user/info` of a follower. For someone who does not follow (any more) only `subscribe: 0` and `openid`
 * are present. `nickname`/`headimgurl` are no longer filled for new data.
 */
export interface UserInfo {
  subscribe: 0 | 1;
  openid: string;
  language?: string;
  /** Unix seconds of the last follow. */
  subscribe_time?: number;
  /** Present when the account is bound to an Open Platform account. */
  unionid?: string;
  remark?: string;
  groupid?: number;
  tagid_list?: number[];
  /** e.g. `ADD_SCENE_QR_CODE`, `ADD_SCENE_SEARCH`. */
  subscribe_scene?: string;
  qr_scene?: number;
  qr_scene_str?: string;
  nickname?: string;
  headimgurl?: string;
}

/** One page of followers (`user/get`). `data` is absent on an empty page. */
export interface UserListPage {
  /** All followers. */
  total: number;
  /** Openids on this page (up to 10,000). */
  count: number;
  data?: { openid: string[] };
  /** Pass to the next call; the list is done when a page comes back empty. */
  next_openid: string;
}

/** Most users per `user/info/batchget` call. */
export const USER_BATCH_LIMIT = 100;
/** Longest remark `user/info/updateremark` accepts, in characters. */
export const USER_REMARK_LIMIT = 30;

/**
 * Followers (`/cgi-bin/user/*`). Default daily quotas: user/info 5,000,000, user/get 500 (each page counts —
 * prefer paging through `openids()` once and caching).
 */
export class UserApi {
  constructor(private readonly client: WechatCaller) {}

  /** `GET /cgi-bin/user/info`. WeChat answers 40003 for an openid it does not know. */
  info(appId: string, openid: string, lang: UserLang = 'zh_CN'): Promise<UserInfo> {
    return this.client.request<UserInfo>(appId, {
      method: 'GET',
      path: '/cgi-bin/user/info',
      query: { openid, lang },
    });
  }

  /** `GET /cgi-bin/user/get`: one page of up to 10,000 openids, starting after `nextOpenid`. */
  list(appId: string, nextOpenid?: string): Promise<UserListPage> {
    return this.client.request<UserListPage>(appId, {
      method: 'GET',
      path: '/cgi-bin/user/get',
      query: { next_openid: nextOpenid || undefined },
    });
  }

  /** Every follower's openid, page after page (one `user/get` call per 10,000). */
  async *openids(appId: string): AsyncGenerator<string> {
    let next: string | undefined;
    for (;;) {
      const page = await this.list(appId, next);
      const openids = page.data?.openid ?? [];
      yield* openids;
      if (openids.length === 0 || !page.next_openid || page.next_openid === next) return;
      next = page.next_openid;
    }
  }

  /**
   * `POST /cgi-bin/user/info/batchget`: profiles of up to 100 users in one call, in the order given.
   * @throws RangeError for an empty list or more than 100 users (before calling WeChat).
   */
  async batchGet(
    appId: string,
    users: ReadonlyArray<string | { openid: string; lang?: UserLang }>,
  ): Promise<UserInfo[]> {
    if (users.length === 0 || users.length > USER_BATCH_LIMIT) {
      throw new RangeError(`user/info/batchget takes 1 to ${USER_BATCH_LIMIT} users, not ${users.length}`);
    }
    const result = await this.client.request<{ user_info_list: UserInfo[] }>(appId, {
      method: 'POST',
      path: '/cgi-bin/user/info/batchget',
      json: {
        user_list: users.map((user) =>
          typeof user === 'string'
            ? { openid: user, lang: 'zh_CN' }
            : { openid: user.openid, lang: user.lang ?? 'zh_CN' },
        ),
      },
    });
    return result.user_info_list;
  }

  /**
   * `POST /cgi-bin/user/info/updateremark` (service accounts). An empty remark clears it.
   * @throws RangeError for a remark longer than 30 characters.
   */
  async updateRemark(appId: string, openid: string, remark: string): Promise<void> {
    if ([...remark].length > USER_REMARK_LIMIT) {
      throw new RangeError(`a remark has at most ${USER_REMARK_LIMIT} characters`);
    }
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/user/info/updateremark',
      json: { openid, remark },
    });
  }
}
