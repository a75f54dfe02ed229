import { Injectable, OnModuleInit } from '@nestjs/common';
import { WechatCallbackRouter } from '../wechat-callback/wechat-callback.router';
import { transferToCustomerService } from '../wechat-callback/wechat-reply';
import { SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM } from './sandbox.constants';
import { SandboxRuntime } from './sandbox.module';

/**
 * In sandbox mode, the demo account answers so that a newcomer sees a round trip: text is echoed, a follow is
 * welcomed; the demo Mini Program (JSON pushes) echoes text through the customer-service API (a Mini Program has no
 * passive text reply) and answers `transfer` with the hand-over to customer service. Registered at runtime (not with decorators) because the demo account exists only in sandbox mode.
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
    const miniProgram = SANDBOX_DEMO_MINI_PROGRAM.appId;
    this.router.add({
      kind: 'message',
      type: 'text',
      options: { appId: miniProgram },
      name: 'SandboxDemoHandlers.miniProgramEcho',
      handler: (message) => `You said: ${String(message.Content ?? '')}`,
    });
    this.router.add({
      kind: 'message',
      type: 'text',
      options: { appId: miniProgram, content: 'transfer' },
      name: 'SandboxDemoHandlers.miniProgramTransfer',
      handler: () => transferToCustomerService(),
    });
  }
}
