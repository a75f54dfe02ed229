import { useApiPlane } from '../../../test/support/api-plane';
import { WechatApiError } from '../errors/wechat-api.error';

const APP = 'wx000000000short01';

const h = useApiPlane(APP);

describe('shorten', () => {
  it('stores long data under a short key and fetches it back', async () => {
    const longData = 'from=menu&campaign=春节&ref=' + 'x'.repeat(200);
    const key = await h.client.shorten.gen(APP, longData, 3600);
    expect(key).toMatch(/^[\w-]+$/);
    expect(h.sim.requests('/cgi-bin/shorten/gen')[0]!.body).toEqual({
      long_data: longData,
      expire_seconds: 3600,
    });
    const fetched = await h.client.shorten.fetch(APP, key);
    expect(fetched).toEqual({
      long_data: longData,
      create_time: expect.any(Number),
      expire_seconds: expect.any(Number),
    });
    expect(fetched.expire_seconds).toBeGreaterThan(3590);
    expect(fetched.expire_seconds).toBeLessThanOrEqual(3600);
  });

  it('defaults to 30 days and checks the limits before calling', async () => {
    await h.client.shorten.gen(APP, 'a');
    expect(h.sim.requests('/cgi-bin/shorten/gen')[0]!.body).toEqual({
      long_data: 'a',
      expire_seconds: 2_592_000,
    });
    await expect(h.client.shorten.gen(APP, '')).rejects.toThrow(RangeError);
    await expect(h.client.shorten.gen(APP, '字'.repeat(1366))).rejects.toThrow(RangeError); // 4098 bytes
    await expect(h.client.shorten.gen(APP, 'a', 2_592_001)).rejects.toThrow(RangeError);
    await expect(h.client.shorten.fetch(APP, 'unknown')).rejects.toBeInstanceOf(WechatApiError);
  });
});
