import { Test, type TestingModule } from '@nestjs/testing';
import { AccountConfig } from '../../src/accounts/account-config';
import { ApiModule } from '../../src/api/api.module';
import { WechatApiClient } from '../../src/api/wechat-api-client';
import { WechatSimulator, type SimulatorOptions } from '../../src/sandbox/wechat-simulator';
import { MemoryTokenStore } from '../../src/store/memory-token-store';
import { TokenModule } from '../../src/token/token.module';

/** A token plane + API plane in this process, against a simulator on a free loopback port. */
export interface ApiPlane {
  sim: WechatSimulator;
  client: WechatApiClient;
  moduleRef: TestingModule;
  close(): Promise<void>;
}

export async function startApiPlane(
  appId: string,
  appSecret: string,
  simulator: SimulatorOptions = {},
): Promise<ApiPlane> {
  const sim = new WechatSimulator({ apps: [{ appId, appSecret }], ...simulator });
  const url = await sim.listen();
  const account = Object.assign(new AccountConfig(), { appId, appSecret });
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
  return {
    sim,
    client: moduleRef.get(WechatApiClient),
    moduleRef,
    close: async () => {
      await moduleRef.close();
      await sim.close();
    },
  };
}
