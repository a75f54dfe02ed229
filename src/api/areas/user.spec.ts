import { useApiPlane } from '../../../test/support/api-plane';
import {
  SANDBOX_UNSUBSCRIBED_OPENID,
  sandboxOpenid,
  seedSandboxUsers,
} from '../../sandbox/business/business-state';
import { WechatApiError } from '../errors/wechat-api.error';

const APP = 'wx0000000000user01';

const h = useApiPlane(APP);

describe('user', () => {
  it('reads a follower and a former follower', async () => {
    const info = await h.client.user.info(APP, sandboxOpenid(1), 'en');
    expect(info).toMatchObject({
      subscribe: 1,
      openid: sandboxOpenid(1),
      tagid_list: [],
      remark: '',
      subscribe_time: expect.any(Number),
    });
    expect(h.sim.requests('/cgi-bin/user/info')[0]!.query).toMatchObject({
      openid: sandboxOpenid(1),
      lang: 'en',
    });
    await expect(h.client.user.info(APP, SANDBOX_UNSUBSCRIBED_OPENID)).resolves.toEqual({
      subscribe: 0,
      openid: SANDBOX_UNSUBSCRIBED_OPENID,
    });
    const error = await h.client.user.info(APP, 'o_nobody').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatApiError);
    expect(error).toMatchObject({ errcode: 40003, rid: expect.stringMatching(/^[0-9a-f-]{26}$/) });
  });

  it('lists followers page by page (10,000 a page) and iterates them all', async () => {
    seedSandboxUsers(h.sim, APP, 10_001);
    const first = await h.client.user.list(APP);
    expect(first).toMatchObject({ total: 10_001, count: 10_000, next_openid: sandboxOpenid(10_000) });
    expect(first.data!.openid[0]).toBe(sandboxOpenid(1));
    const second = await h.client.user.list(APP, first.next_openid);
    expect(second).toMatchObject({ total: 10_001, count: 1, data: { openid: [sandboxOpenid(10_001)] } });
    const all: string[] = [];
    for await (const openid of h.client.user.openids(APP)) all.push(openid);
    expect(all).toHaveLength(10_001);
    expect(new Set(all).size).toBe(10_001);
    expect(h.sim.requests('/cgi-bin/user/get').map((r) => r.query.next_openid ?? '')).toEqual([
      '',
      sandboxOpenid(10_000),
      '',
      sandboxOpenid(10_000),
      sandboxOpenid(10_001),
    ]);
  });

  it('batch-gets up to 100 users in order, refusing more before calling WeChat', async () => {
    const list = await h.client.user.batchGet(APP, [
      sandboxOpenid(2),
      { openid: sandboxOpenid(1), lang: 'zh_TW' },
    ]);
    expect(list.map((u) => u.openid)).toEqual([sandboxOpenid(2), sandboxOpenid(1)]);
    expect(h.sim.requests('/cgi-bin/user/info/batchget')[0]!.body).toEqual({
      user_list: [
        { openid: sandboxOpenid(2), lang: 'zh_CN' },
        { openid: sandboxOpenid(1), lang: 'zh_TW' },
      ],
    });
    await expect(
      h.client.user.batchGet(
        APP,
        Array.from({ length: 101 }, (_, i) => sandboxOpenid(i + 1)),
      ),
    ).rejects.toThrow(RangeError);
    await expect(h.client.user.batchGet(APP, [])).rejects.toThrow(RangeError);
    expect(h.sim.requests('/cgi-bin/user/info/batchget')).toHaveLength(1);
  });

  it('updates a remark (≤ 30 characters)', async () => {
    await h.client.user.updateRemark(APP, sandboxOpenid(1), '老客户');
    await expect(h.client.user.info(APP, sandboxOpenid(1))).resolves.toMatchObject({ remark: '老客户' });
    await expect(h.client.user.updateRemark(APP, sandboxOpenid(1), '长'.repeat(31))).rejects.toThrow(
      RangeError,
    );
  });
});
