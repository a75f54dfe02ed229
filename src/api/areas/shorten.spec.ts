import { Test, type TestingModule } from '@nestjs/testing';
import { AccountConfig } from '../../accounts/account-config';
import { WechatSimulator } from '../../sandbox/wechat-simulator';
import { MemoryTokenStore } from '../../store/memory-token-store';
import { TokenModule } from '../../token/token.module';
import { ApiModule } from '../api.module';
import { WechatApiError } from '../errors/wechat-api.error';
import { WechatApiClient } from '../wechat-api-client';

const APP = 'wx000000000short01';
const SECRET = 'shortensecret0000000000000000000';

interface Harness {
  sim: WechatSimulator;
  client: WechatApiClient;
  moduleRef: TestingModule;
}

let h: Harness;
jest.setTimeout(20_000);

beforeEach(async () => {
  const sim = new WechatSimulator({ apps: [{ appId: APP, appSecret: SECRET }] });
  const url = await sim.listen();
  const account = Object.assign(new AccountConfig(), { appId: APP, appSecret: SECRET });
  const moduleRef = await Test.createTestingModule({
    imports: [
      TokenModule.forRoot({
        accounts: [account],
        apiBaseUrl: url,
        store: new MemoryTokenStore(),
        isGlobal: true,
      }),
      ApiModule.forRoot({ apiBaseUrl: url }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  h = { sim, client: moduleRef.get(WechatApiClient), moduleRef };
});

afterEach(async () => {
  await h.moduleRef.close();
  await h.sim.close();
});

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
