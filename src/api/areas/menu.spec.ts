import { useApiPlane } from '../../../test/support/api-plane';
import { sandboxOpenid } from '../../sandbox/business/business-state';

const APP = 'wx0000000000menu01';

const h = useApiPlane(APP);

describe('menu', () => {
  const menu = {
    button: [
      { type: 'click' as const, name: '今日歌曲', key: 'V1001_TODAY_MUSIC' },
      {
        name: '菜单',
        sub_button: [
          { type: 'view' as const, name: '搜索', url: 'http://www.soso.com/' },
          {
            type: 'miniprogram' as const,
            name: 'wxa',
            url: 'http://mp.weixin.qq.com',
            appid: 'wx286b93c14bbf93aa',
            pagepath: 'pages/lunar/index',
          },
        ],
      },
    ],
  };

  it('creates a menu (body as sent) and reads it back, with the console view', async () => {
    await h.client.menu.create(APP, menu);
    expect(h.sim.requests('/cgi-bin/menu/create')[0]!.body).toEqual(menu);
    const got = await h.client.menu.get(APP);
    expect(got.menu.button).toEqual(menu.button);
    expect(got.menu.menuid).toBeDefined();
    expect(got.conditionalmenu).toBeUndefined();
    const info = await h.client.menu.currentSelfMenuInfo(APP);
    expect(info.is_menu_open).toBe(1);
    expect(info.selfmenu_info!.button[1]).toEqual({
      name: '菜单',
      sub_button: { list: menu.button[1]!.sub_button },
    });
  });

  it('answers 46003 without a menu, and delete removes conditional menus too', async () => {
    await expect(h.client.menu.get(APP)).rejects.toMatchObject({ errcode: 46003, path: '/cgi-bin/menu/get' });
    await expect(h.client.menu.currentSelfMenuInfo(APP)).resolves.toEqual({ is_menu_open: 0 });
    await h.client.menu.create(APP, menu);
    const tag = await h.client.tags.create(APP, 'vip');
    await h.client.menu.addConditional(APP, {
      button: [{ type: 'click', name: 'VIP', key: 'VIP' }],
      matchrule: { tag_id: String(tag.id) },
    });
    await h.client.menu.delete(APP);
    await expect(h.client.menu.get(APP)).rejects.toMatchObject({ errcode: 46003 });
  });

  it('serves the conditional menu to users with the tag (trymatch), the default one to others', async () => {
    await expect(
      h.client.menu.addConditional(APP, {
        button: [{ type: 'click', name: 'X', key: 'X' }],
        matchrule: { tag_id: '100' },
      }),
    ).rejects.toMatchObject({ errcode: 65303 });
    await h.client.menu.create(APP, menu);
    const tag = await h.client.tags.create(APP, 'vip');
    const vipMenu = [{ type: 'click' as const, name: 'VIP', key: 'VIP_ONLY' }];
    const menuid = await h.client.menu.addConditional(APP, {
      button: vipMenu,
      matchrule: { tag_id: String(tag.id) },
    });
    expect(h.sim.requests('/cgi-bin/menu/addconditional').at(-1)!.body).toEqual({
      button: vipMenu,
      matchrule: { tag_id: String(tag.id) },
    });
    await h.client.tags.tagUsers(APP, tag.id, [sandboxOpenid(1)]);
    await expect(h.client.menu.tryMatch(APP, sandboxOpenid(1))).resolves.toEqual({ button: vipMenu });
    await expect(h.client.menu.tryMatch(APP, sandboxOpenid(2))).resolves.toEqual({ button: menu.button });
    expect((await h.client.menu.get(APP)).conditionalmenu).toEqual([
      { button: vipMenu, matchrule: { tag_id: String(tag.id) }, menuid },
    ]);
    await h.client.menu.deleteConditional(APP, menuid);
    await expect(h.client.menu.deleteConditional(APP, menuid)).rejects.toMatchObject({ errcode: 65301 });
    await expect(h.client.menu.tryMatch(APP, 'o_unknown')).rejects.toMatchObject({ errcode: 65302 });
  });

  it.each([
    [
      '4 top-level buttons',
      { button: Array.from({ length: 4 }, (_, i) => ({ type: 'click', name: `b${i}`, key: `k${i}` })) },
      40016,
    ],
    [
      '6 sub-buttons',
      {
        button: [
          {
            name: 'more',
            sub_button: Array.from({ length: 6 }, (_, i) => ({ type: 'click', name: `s${i}`, key: `k${i}` })),
          },
        ],
      },
      40023,
    ],
    ['a top name over 16 bytes', { button: [{ type: 'click', name: '一二三四五六', key: 'k' }] }, 40018],
    ['an unknown type', { button: [{ type: 'teleport', name: 'x', key: 'k' }] }, 40017],
    ['a click without key', { button: [{ type: 'click', name: 'x' }] }, 40019],
    ['a sub view without url', { button: [{ name: 'm', sub_button: [{ type: 'view', name: 'x' }] }] }, 40027],
  ])('is refused by WeChat (the simulator) for %s', async (_case, bad, errcode) => {
    await expect(h.client.menu.create(APP, bad as never)).rejects.toMatchObject({
      errcode,
      path: '/cgi-bin/menu/create',
    });
  });
});
