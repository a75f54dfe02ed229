import { Injectable, OnModuleInit } from '@nestjs/common';
import { WechatCallbackRouter } from '../wechat-callback/wechat-callback.router';
import { SANDBOX_DEMO_ACCOUNT } from './sandbox.constants';
import { SandboxRuntime } from './sandbox.module';

/**
 * In sandbox mode, the demo account answers so that a newcomer sees a round trip: text is echoed, a follow is
 * welcomed. Registered at runtime (not with decorators) because the demo account exists only in sandbox mode.
 */
@Injectable()
export class SandboxDemoHandlers implements OnModuleInit {
  constructor(
    private readonly sandbox: SandboxRuntime,
    private readonly router: WechatCallbackRouter,
  ) {}

  onModuleInit(): void {
    if (!this.sandbox.simulator) return;
    const appId = SANDBOX_DEMO_ACCOUNT.appId;
    this.router.add({
      kind: 'message',
      type: 'text',
      options: { appId },
      name: 'SandboxDemoHandlers.echo',
      handler: (message) => `You said: ${String(message.Content ?? '')}`,
    });
    this.router.add({
      kind: 'event',
      type: 'subscribe',
      options: { appId },
      name: 'SandboxDemoHandlers.welcome',
      handler: () => 'Welcome to the wxhub sandbox! Send me any text and I will echo it.',
    });
  }
}
