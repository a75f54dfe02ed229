import { Test } from '@nestjs/testing';
import { loadWxhubConfig, type WxhubConfig } from './wxhub-config';
import { loadedConfigModule, WxhubConfigModule, WXHUB_CONFIG } from './wxhub-config.module';

describe('WxhubConfigModule', () => {
  const saved = { ...process.env };

  afterEach(() => {
    process.env = saved;
  });

  it('provides the configuration createApp loaded, without reading the environment again', async () => {
    const loaded = loadWxhubConfig({ PORT: '4321' });
    // an environment that would not even validate: reading it again would fail the boot
    process.env = { ...saved, PORT: 'not-a-port' };

    const moduleRef = await Test.createTestingModule({
      imports: [loadedConfigModule(loaded), WxhubConfigModule],
    }).compile();

    expect(moduleRef.get<WxhubConfig>(WXHUB_CONFIG)).toBe(loaded);
    await moduleRef.close();
  });

  it('reads and validates the environment itself when imported without createApp', async () => {
    process.env = { ...saved, PORT: '4322', WECHAT_ACCOUNTS: '', WECHAT_ACCOUNTS_FILE: '' };

    const moduleRef = await Test.createTestingModule({ imports: [WxhubConfigModule] }).compile();

    expect(moduleRef.get<WxhubConfig>(WXHUB_CONFIG).port).toBe(4322);
    await moduleRef.close();
  });
});
