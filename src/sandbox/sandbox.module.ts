import { Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { WXHUB_CONFIG } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { accountKind } from '../accounts/account-config';
import { WechatSimulator } from './wechat-simulator';

/** The built-in WeChat simulator of sandbox mode, listening on loopback; `baseUrl` is null outside sandbox mode. */
export class SandboxRuntime implements OnModuleDestroy {
  constructor(
    readonly simulator: WechatSimulator | null,
    readonly baseUrl: string | null,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.simulator?.close();
  }
}

async function startSandbox(config: WxhubConfig): Promise<SandboxRuntime> {
  if (!config.sandbox.enabled) return new SandboxRuntime(null, null);
  const simulator = new WechatSimulator({
    apps: config.accounts.map((account) => ({
      appId: account.appId,
      appSecret: account.appSecret,
      kind: accountKind(account),
    })),
    tokenLifetimeSeconds: config.sandbox.tokenLifetimeSeconds,
    // WeChat's 5 minutes of 2 hours, scaled when a shorter demo lifetime is configured
    overlapSeconds: Math.min(300, Math.floor(config.sandbox.tokenLifetimeSeconds / 24)),
  });
  const baseUrl = await simulator.listen(config.sandbox.port, '127.0.0.1');
  new Logger('Sandbox').warn(
    `SANDBOX MODE: WeChat is simulated at ${baseUrl} (nothing leaves this machine). Configure WECHAT_ACCOUNTS to use real accounts.`,
  );
  return new SandboxRuntime(simulator, baseUrl);
}

@Module({
  providers: [{ provide: SandboxRuntime, useFactory: startSandbox, inject: [WXHUB_CONFIG] }],
  exports: [SandboxRuntime],
})
export class SandboxModule {}
