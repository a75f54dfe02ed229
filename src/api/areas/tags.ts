import type { WechatCaller } from '../wechat-request';

/** A user tag. Ids 0, 1 and 2 (星标组) are WeChat's own and cannot be changed. */
export interface UserTag {
  id: number;
  name: string;
  /** Users carrying the tag (in `list` only). */
  count?: number;
}

/** A page of openids (tag members, blacklist). `data` is absent on an empty page. */
export interface OpenidPage {
  /** For the blacklist: everyone on it. */
  total?: number;
  count: number;
  data?: { openid: string[] };
  next_openid: string;
}

/** Most openids per tagging call. */
export const TAGGING_LIMIT = 50;
/** Most openids per blacklist / unblacklist call. */
export const BLACKLIST_LIMIT = 20;
/** Longest tag name, in characters. */
export const TAG_NAME_LIMIT = 30;

/**
 * User tags and the blacklist (`/cgi-bin/tags/*`). Limits (WeChat): ≤ 100 tags per account (45056), names
 * ≤ 30 characters and unique (45158 / 45157), ≤ 20 tags per user (45059), unknown tag 45159, WeChat's own
 * tags 45058; tagging takes ≤ 50 openids per call, (un)blacklisting ≤ 20 — checked here before calling.
 */
export class TagsApi {
  constructor(private readonly client: WechatCaller) {}

  /** `POST /cgi-bin/tags/create`. Resolves to the new tag. */
  async create(appId: string, name: string): Promise<UserTag> {
    checkName(name);
    const result = await this.client.request<{ tag: UserTag }>(appId, {
      method: 'POST',
      path: '/cgi-bin/tags/create',
      json: { tag: { name } },
    });
    return result.tag;
  }

  /** `GET /cgi-bin/tags/get`: every tag with its user count. */
  async list(appId: string): Promise<UserTag[]> {
    const result = await this.client.request<{ tags: UserTag[] }>(appId, {
      method: 'GET',
      path: '/cgi-bin/tags/get',
    });
    return result.tags;
  }

  /** `POST /cgi-bin/tags/update`: renames a tag. */
  async update(appId: string, id: number, name: string): Promise<void> {
    checkName(name);
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/tags/update',
      json: { tag: { id, name } },
    });
  }

  /** `POST /cgi-bin/tags/delete`: also removes the tag from its users. */
  async delete(appId: string, id: number): Promise<void> {
    await this.client.request(appId, { method: 'POST', path: '/cgi-bin/tags/delete', json: { tag: { id } } });
  }

  /** `POST /cgi-bin/tags/members/batchtagging`: up to 50 users. */
  tagUsers(appId: string, tagId: number, openids: readonly string[]): Promise<void> {
    return this.changeMembers(appId, 'tags/members/batchtagging', TAGGING_LIMIT, openids, { tagid: tagId });
  }

  /** `POST /cgi-bin/tags/members/batchuntagging`: up to 50 users. */
  untagUsers(appId: string, tagId: number, openids: readonly string[]): Promise<void> {
    return this.changeMembers(appId, 'tags/members/batchuntagging', TAGGING_LIMIT, openids, { tagid: tagId });
  }

  /** `POST /cgi-bin/user/tag/get`: a page (up to 10,000) of the users carrying a tag. */
  usersOfTag(appId: string, tagId: number, nextOpenid = ''): Promise<OpenidPage> {
    return this.client.request<OpenidPage>(appId, {
      method: 'POST',
      path: '/cgi-bin/user/tag/get',
      json: { tagid: tagId, next_openid: nextOpenid },
    });
  }

  /** `POST /cgi-bin/tags/getidlist`: the tag ids of one user. */
  async tagsOfUser(appId: string, openid: string): Promise<number[]> {
    const result = await this.client.request<{ tagid_list: number[] }>(appId, {
      method: 'POST',
      path: '/cgi-bin/tags/getidlist',
      json: { openid },
    });
    return result.tagid_list;
  }

  /** `POST /cgi-bin/tags/members/getblacklist`: a page (up to 10,000) of blacklisted users. */
  blacklist(appId: string, beginOpenid = ''): Promise<OpenidPage> {
    return this.client.request<OpenidPage>(appId, {
      method: 'POST',
      path: '/cgi-bin/tags/members/getblacklist',
      json: { begin_openid: beginOpenid },
    });
  }

  /** `POST /cgi-bin/tags/members/batchblacklist`: up to 20 users. */
  blacklistUsers(appId: string, openids: readonly string[]): Promise<void> {
    return this.changeMembers(appId, 'tags/members/batchblacklist', BLACKLIST_LIMIT, openids);
  }

  /** `POST /cgi-bin/tags/members/batchunblacklist`: up to 20 users. */
  unblacklistUsers(appId: string, openids: readonly string[]): Promise<void> {
    return this.changeMembers(appId, 'tags/members/batchunblacklist', BLACKLIST_LIMIT, openids);
  }

  /** Adds or removes users (at most `limit` per call, checked before calling) via `POST /cgi-bin/{endpoint}`. */
  private async changeMembers(
    appId: string,
    endpoint: string,
    limit: number,
    openids: readonly string[],
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    checkList(openids, limit, endpoint);
    await this.client.request(appId, {
      method: 'POST',
      path: `/cgi-bin/${endpoint}`,
      json: { openid_list: openids, ...extra },
    });
  }
}

function checkName(name: string): void {
  const length = [...name].length;
  if (length === 0 || length > TAG_NAME_LIMIT) {
    throw new RangeError(`a tag name has 1 to ${TAG_NAME_LIMIT} characters`);
  }
}

function checkList(openids: readonly string[], limit: number, api: string): void {
  if (openids.length === 0 || openids.length > limit) {
    throw new RangeError(`${api} takes 1 to ${limit} openids, not ${openids.length}`);
  }
}
