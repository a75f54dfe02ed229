import { Test, type TestingModule } from '@nestjs/testing';
import { AccountConfig } from '../../src/accounts/account-config';
import { ApiModule } from '../../src/api/api.module';
import type { ApiModuleOptions } from '../../src/api/api-options';
import { WechatApiClient } from '../../src/api/wechat-api-client';
import { WechatSimulator, type SimulatorOptions } from '../../src/sandbox/wechat-simulator';
import { MemoryTokenStore } from '../../src/store/memory-token-store';
import { TokenModule } from '../../src/token/token.module';
import { TokenService } from '../../src/token/token.service';

/** A token plane + API plane in this process, talking to WeChat (a simulator) at some URL. */
export interface ApiClientPlane {
  client: WechatApiClient;
  tokens: TokenService;
  moduleRef: TestingModule;
  close(): Promise<void>;
}

/** The same, with its own simulator on a free loopback port. */
export interface ApiPlane extends ApiClientPlane {
  sim: WechatSimulator;
  url: string;
}

/** Token + API planes for one account against WeChat at `url` (a simulator in this or another process). */
export function connectApiPlane(
  appId: string,
  appSecret: string,
  url: string,
  api: ApiModuleOptions = {},
): Promise<ApiClientPlane> {
  return connectAccountsPlane([{ appId, appSecret }], url, api);
}

/** The same for several accounts. */
export async function connectAccountsPlane(
  accounts: { appId: string; appSecret: string }[],
  url: string,
  api: ApiModuleOptions = {},
): Promise<ApiClientPlane> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      TokenModule.forRoot({
        accounts: accounts.map((account) => Object.assign(new AccountConfig(), account)),
        apiBaseUrl: url,
        store: new MemoryTokenStore(),
        isGlobal: true,
      }),
      ApiModule.forRoot({ apiBaseUrl: url, ...api }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  return {
    client: moduleRef.get(WechatApiClient),
    tokens: moduleRef.get(TokenService),
    moduleRef,
    close: () => moduleRef.close(),
  };
}

export async function startApiPlane(
  appId: string,
  appSecret: string,
  options: { simulator?: SimulatorOptions; api?: ApiModuleOptions } = {},
): Promise<ApiPlane> {
  const sim = new WechatSimulator({ apps: [{ appId, appSecret }], ...options.simulator });
  const url = await sim.listen();
  const plane = await connectApiPlane(appId, appSecret, url, options.api);
  return {
    ...plane,
    sim,
    url,
    close: async () => {
      await plane.close();
      await sim.close();
    },
  };
}

/**
 * Starts a fresh {@link startApiPlane} before each test of the calling spec file and closes it after, and gives
 * each test 20 s (a simulator and a Nest module start per test). The account's secret only has to match between
 * the simulator and the token plane, so it defaults to one derived from the appId. The returned handle always
 * reads the current test's plane, so a spec can keep one `const` at file level.
 */
export function useApiPlane(
  appId: string,
  appSecret = `${appId}-secret`,
  options: { simulator?: SimulatorOptions; api?: ApiModuleOptions } = {},
): Omit<ApiPlane, 'close'> {
  jest.setTimeout(20_000);
  let current: ApiPlane | undefined;
  beforeEach(async () => {
    current = await startApiPlane(appId, appSecret, options);
  });
  afterEach(async () => {
    const plane = current;
    current = undefined;
    await plane?.close();
  });
  const live = (): ApiPlane => {
    if (!current) throw new Error('the API plane exists only inside a test');
    return current;
  };
  return {
    get client() {
      return live().client;
    },
    get tokens() {
      return live().tokens;
    },
    get moduleRef() {
      return live().moduleRef;
    },
    get sim() {
      return live().sim;
    },
    get url() {
      return live().url;
    },
  };
}
