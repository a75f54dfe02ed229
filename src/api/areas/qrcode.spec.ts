import { useApiPlane } from '../../../test/support/api-plane';
import { showqrcodeUrl } from './qrcode';

const APP = 'wx00000000000qr001';

const h = useApiPlane(APP);

describe('qrcode', () => {
  it('creates temporary codes with a number or a string scene', async () => {
    const numeric = await h.client.qrcode.createTemporary(APP, 123, 2_592_000);
    expect(numeric).toEqual({
      ticket: expect.any(String),
      expire_seconds: 2_592_000,
      url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\//),
    });
    const text = await h.client.qrcode.createTemporary(APP, 'order:42');
    expect(text.expire_seconds).toBe(30);
    expect(h.sim.requests('/cgi-bin/qrcode/create').map((r) => r.body)).toEqual([
      { expire_seconds: 2_592_000, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 123 } } },
      { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'order:42' } } },
    ]);
  });

  it('creates permanent codes (no expiry)', async () => {
    const numeric = await h.client.qrcode.createPermanent(APP, 100_000);
    expect(numeric.expire_seconds).toBeUndefined();
    await h.client.qrcode.createPermanent(APP, 's'.repeat(64));
    expect(h.sim.requests('/cgi-bin/qrcode/create').map((r) => r.body)).toEqual([
      { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100_000 } } },
      { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 's'.repeat(64) } } },
    ]);
  });

  it.each([
    ['a temporary lifetime over 30 days', () => h.client.qrcode.createTemporary(APP, 1, 2_592_001)],
    ['a zero lifetime', () => h.client.qrcode.createTemporary(APP, 1, 0)],
    ['scene_id 0', () => h.client.qrcode.createTemporary(APP, 0)],
    ['a fractional scene_id', () => h.client.qrcode.createTemporary(APP, 1.5)],
    ['a scene_id over 32 bits', () => h.client.qrcode.createTemporary(APP, 2 ** 32)],
    ['a permanent scene_id over 100000', () => h.client.qrcode.createPermanent(APP, 100_001)],
    ['an empty scene_str', () => h.client.qrcode.createPermanent(APP, '')],
    ['a 65-character scene_str', () => h.client.qrcode.createTemporary(APP, 'x'.repeat(65))],
  ])('throws RangeError for %s without calling WeChat', (_case, call) => {
    expect(call).toThrow(RangeError);
    expect(h.sim.stats().calls['/cgi-bin/qrcode/create'] ?? 0).toBe(0);
  });

  it('builds the showqrcode URL on mp.weixin.qq.com with the ticket URL-encoded', () => {
    const ticket =
      'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==';
    expect(showqrcodeUrl(ticket)).toBe(
      `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`,
    );
    expect(h.client.qrcode.showUrl('a+b/c=')).toBe(
      'https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=a%2Bb%2Fc%3D',
    );
  });
});
