import type { Provider } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { AccountConfig } from '../../src/accounts/account-config';
import { WechatSimulator } from '../../src/sandbox/wechat-simulator';
import { MemoryTokenStore } from '../../src/store/memory-token-store';
import { TokenModule } from '../../src/token/token.module';
import { MemoryCallbackDedupeStore } from '../../src/wechat-callback/dedupe/memory-callback-dedupe-store';
import { WechatCallbackDispatcher } from '../../src/wechat-callback/wechat-callback.dispatcher';
import { WechatCallbackModule } from '../../src/wechat-callback/wechat-callback.module';
import type { WechatCallbackModuleOptions } from '../../src/wechat-callback/wechat-callback-options';
import { WechatCallbackVerifier } from '../../src/wechat-callback/wechat-callback-verifier';

export interface CallbackModuleSetup {
  accounts: AccountConfig[];
  /** Where the token plane and late replies call WeChat. */
  apiBaseUrl: string;
  /** The handler classes. */
  providers: Provider[];
  /** More callback options; de-duplication is in memory unless these say otherwise. */
  callback?: WechatCallbackModuleOptions;
}

/**
 * A compiled, not yet initialised, testing module with the token plane (in-memory store) and the callback plane
 * for `accounts`, its logger off: initialising it runs the handler discovery.
 */
export async function compileCallbackModule(setup: CallbackModuleSetup): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      TokenModule.forRoot({
        accounts: setup.accounts,
        apiBaseUrl: setup.apiBaseUrl,
        store: new MemoryTokenStore(),
        isGlobal: true,
      }),
      WechatCallbackModule.forRoot({
        apiBaseUrl: setup.apiBaseUrl,
        dedupeStore: new MemoryCallbackDedupeStore(),
        ...setup.callback,
      }),
    ],
    providers: setup.providers,
  }).compile();
  moduleRef.useLogger(false);
  return moduleRef;
}

export interface CallbackTestbed {
  sim: WechatSimulator;
  moduleRef: TestingModule;
  verifier: WechatCallbackVerifier;
  dispatcher: WechatCallbackDispatcher;
  close(): Promise<void>;
}

/**
 * A simulator that knows `accounts` (each of its kind) and an initialised callback module calling it: the
 * verifier and the dispatcher a push goes through.
 */
export async function startCallbackTestbed(
  setup: Omit<CallbackModuleSetup, 'apiBaseUrl'>,
): Promise<CallbackTestbed> {
  const sim = new WechatSimulator({
    apps: setup.accounts.map(({ appId, appSecret, kind }) => ({ appId, appSecret, kind })),
  });
  const apiBaseUrl = await sim.listen();
  const moduleRef = await compileCallbackModule({ ...setup, apiBaseUrl });
  await moduleRef.init();
  return {
    sim,
    moduleRef,
    verifier: moduleRef.get(WechatCallbackVerifier),
    dispatcher: moduleRef.get(WechatCallbackDispatcher),
    async close() {
      await moduleRef.close();
      await sim.close();
    },
  };
}
