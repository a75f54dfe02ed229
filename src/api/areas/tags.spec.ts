import { useApiPlane } from '../../../test/support/api-plane';
import { sandboxOpenid } from '../../sandbox/business/business-state';

const APP = 'wx0000000000tags01';

const h = useApiPlane(APP);

describe('tags', () => {
  it('creates, lists, renames and deletes tags', async () => {
    const tag = await h.client.tags.create(APP, '广东');
    expect(tag).toEqual({ id: 100, name: '广东' });
    expect(h.sim.requests('/cgi-bin/tags/create')[0]!.body).toEqual({ tag: { name: '广东' } });
    await h.client.tags.update(APP, tag.id, '广州');
    await expect(h.client.tags.list(APP)).resolves.toEqual([
      { id: 2, name: '星标组', count: 0 },
      { id: 100, name: '广州', count: 0 },
    ]);
    await h.client.tags.delete(APP, tag.id);
    await expect(h.client.tags.list(APP)).resolves.toHaveLength(1);
    await expect(h.client.tags.delete(APP, tag.id)).rejects.toMatchObject({ errcode: 45159 });
    await expect(h.client.tags.delete(APP, 2)).rejects.toMatchObject({ errcode: 45058 });
  });

  it('refuses duplicate names (45157) and checks name length before calling', async () => {
    await h.client.tags.create(APP, 'vip');
    await expect(h.client.tags.create(APP, 'vip')).rejects.toMatchObject({ errcode: 45157 });
    await expect(h.client.tags.create(APP, 'x'.repeat(31))).rejects.toThrow(RangeError);
    await expect(h.client.tags.create(APP, '')).rejects.toThrow(RangeError);
  });

  it('tags and untags users, lists members and a user’s tags', async () => {
    const tag = await h.client.tags.create(APP, 'vip');
    await h.client.tags.tagUsers(APP, tag.id, [sandboxOpenid(1), sandboxOpenid(2)]);
    expect(h.sim.requests('/cgi-bin/tags/members/batchtagging')[0]!.body).toEqual({
      openid_list: [sandboxOpenid(1), sandboxOpenid(2)],
      tagid: tag.id,
    });
    await expect(h.client.tags.usersOfTag(APP, tag.id)).resolves.toEqual({
      count: 2,
      data: { openid: [sandboxOpenid(1), sandboxOpenid(2)] },
      next_openid: sandboxOpenid(2),
    });
    await expect(h.client.tags.usersOfTag(APP, tag.id, sandboxOpenid(2))).resolves.toEqual({
      count: 0,
      next_openid: '',
    });
    await expect(h.client.tags.tagsOfUser(APP, sandboxOpenid(1))).resolves.toEqual([tag.id]);
    await expect(h.client.user.info(APP, sandboxOpenid(1))).resolves.toMatchObject({ tagid_list: [tag.id] });
    await h.client.tags.untagUsers(APP, tag.id, [sandboxOpenid(1)]);
    await expect(h.client.tags.tagsOfUser(APP, sandboxOpenid(1))).resolves.toEqual([]);
    await expect(h.client.tags.tagUsers(APP, 999, [sandboxOpenid(1)])).rejects.toMatchObject({
      errcode: 45159,
    });
    await expect(h.client.tags.tagUsers(APP, tag.id, ['o_nobody'])).rejects.toMatchObject({ errcode: 40003 });
  });

  it('limits tagging to 50 openids and blacklisting to 20, before calling WeChat', async () => {
    const many = (n: number): string[] => Array.from({ length: n }, (_, i) => sandboxOpenid(i + 1));
    await expect(h.client.tags.tagUsers(APP, 100, many(51))).rejects.toThrow(RangeError);
    await expect(h.client.tags.untagUsers(APP, 100, [])).rejects.toThrow(RangeError);
    await expect(h.client.tags.blacklistUsers(APP, many(21))).rejects.toThrow(RangeError);
    expect(h.sim.stats().calls['/cgi-bin/tags/members/batchtagging'] ?? 0).toBe(0);
  });

  it('blacklists and unblacklists users', async () => {
    await h.client.tags.blacklistUsers(APP, [sandboxOpenid(3), sandboxOpenid(4)]);
    await expect(h.client.tags.blacklist(APP)).resolves.toEqual({
      total: 2,
      count: 2,
      data: { openid: [sandboxOpenid(3), sandboxOpenid(4)] },
      next_openid: sandboxOpenid(4),
    });
    await h.client.tags.unblacklistUsers(APP, [sandboxOpenid(3)]);
    await expect(h.client.tags.blacklist(APP)).resolves.toMatchObject({
      total: 1,
      data: { openid: [sandboxOpenid(4)] },
    });
    expect(h.sim.requests('/cgi-bin/tags/members/getblacklist')[0]!.body).toEqual({ begin_openid: '' });
  });
});
