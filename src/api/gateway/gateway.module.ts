import { Module } from '@nestjs/common';
import { AdminModule } from '../../admin/admin.module';
import { ConfigurableModuleClass } from './gateway.module-definition';
import { GatewayRoutes } from './gateway.routes';
import { ServedTokenIndex } from './served-token-index';
import { WechatForwarder } from './wechat-forwarder';

/**
 * The HTTP gateway: `ALL /gateway/:appId/<wechat path>` (API key) and the `/cgi-bin/*` pass-through for SDKs
 * (a token the hub handed out). Needs the Fastify adapter and a global TokenModule.
 *
 * @example
 * GatewayModule.forRoot({ apiBaseUrl: 'https://api.weixin.qq.com' })
 */
@Module({
  imports: [AdminModule],
  providers: [WechatForwarder, ServedTokenIndex, GatewayRoutes],
})
export class GatewayModule extends ConfigurableModuleClass {}
