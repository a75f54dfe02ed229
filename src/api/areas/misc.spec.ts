import { useApiPlane } from '../../../test/support/api-plane';
import { WechatApiError } from '../errors/wechat-api.error';

const APP = 'wx0000000000misc01';

const h = useApiPlane(APP);

describe('misc', () => {
  it('reads the callback and API domain IP lists', async () => {
    await expect(h.client.misc.callbackIps(APP)).resolves.toContain('101.226.103.0/25');
    const ips = await h.client.misc.apiDomainIps(APP);
    expect(ips.length).toBeGreaterThan(0);
  });

  it('runs the network check', async () => {
    const result = await h.client.misc.checkCallback(APP, 'all', 'UNICOM');
    expect(result).toEqual({
      dns: [{ ip: expect.any(String), real_operator: 'UNICOM' }],
      ping: [expect.objectContaining({ from_operator: 'UNICOM' })],
    });
    expect(h.sim.requests('/cgi-bin/callback/check')[0]!.body).toEqual({
      action: 'all',
      check_operator: 'UNICOM',
    });
    await expect(h.client.misc.checkCallback(APP, 'dns')).resolves.toMatchObject({ ping: [] });
  });

  it('reports quota use per API and resets it with clear_quota', async () => {
    await h.client.menu.delete(APP);
    await h.client.menu.delete(APP);
    await expect(h.client.misc.quota(APP, '/cgi-bin/menu/delete')).resolves.toEqual({
      daily_limit: 1000,
      used: 2,
      remain: 998,
    });
    expect(h.sim.requests('/cgi-bin/openapi/quota/get')[0]!.body).toEqual({
      cgi_path: '/cgi-bin/menu/delete',
    });
    await h.client.misc.clearQuota(APP);
    expect(h.sim.requests('/cgi-bin/clear_quota')[0]!.body).toEqual({ appid: APP });
    await expect(h.client.misc.quota(APP, '/cgi-bin/menu/delete')).resolves.toMatchObject({ used: 0 });
    await expect(h.client.misc.quota(APP, '/sns/userinfo')).rejects.toMatchObject({ errcode: 76022 });
    await expect(h.client.misc.quota(APP, '/cgi-bin/nothing')).rejects.toMatchObject({ errcode: 76021 });
    await expect(h.client.misc.quota(APP, 'cgi-bin/menu/get')).rejects.toThrow(RangeError);
  });

  it('resets with AppID + AppSecret (clear_quota/v2) without any token call; 10 resets a month, then 48006', async () => {
    const before = h.sim.stats().byApp[APP]!;
    await h.client.misc.clearQuotaWithSecret(APP);
    expect(h.sim.stats().byApp[APP]).toEqual(before);
    for (let i = 0; i < 8; i++) await h.client.misc.clearQuota(APP);
    await h.client.misc.clearQuotaWithSecret(APP);
    const error = await h.client.misc.clearQuota(APP).catch((e: unknown) => e);
    expect(error).toMatchObject({ errcode: 48006, path: '/cgi-bin/clear_quota' });
    await expect(h.client.misc.clearQuotaWithSecret(APP)).rejects.toMatchObject({
      errcode: 48006,
      path: '/cgi-bin/clear_quota/v2',
    });
  });

  it('looks up a failed request by its rid', async () => {
    const error = (await h.client.user.info(APP, 'o_nobody').catch((e: unknown) => e)) as WechatApiError;
    const info = await h.client.misc.rid(APP, error.rid!);
    expect(info).toMatchObject({
      invoke_time: expect.any(Number),
      request_url: '/cgi-bin/user/info?openid=o_nobody&lang=zh_CN',
      response_body: expect.stringContaining('40003'),
    });
    expect(JSON.stringify(info)).not.toContain('access_token=');
    await expect(h.client.misc.rid(APP, '00000000-00000000-00000000')).rejects.toMatchObject({
      errcode: 76001,
    });
    await expect(h.client.misc.rid(APP, 'nonsense')).rejects.toMatchObject({ errcode: 76002 });
  });
});
