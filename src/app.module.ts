import { Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { ApiModule } from './api/api.module';
import { AuditModule } from './audit/audit.module';
import { GatewayModule } from './api/gateway/gateway.module';
import { WxhubConfigModule, WXHUB_CONFIG } from './config/wxhub-config.module';
import type { WxhubConfig } from './config/wxhub-config';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { SandboxDemoHandlers } from './sandbox/sandbox-demo-handlers';
import { SandboxModule, SandboxRuntime } from './sandbox/sandbox.module';
import { ThrottleModule } from './throttle/throttle.module';
import { TokenModule } from './token/token.module';
import { WechatCallbackModule } from './wechat-callback/wechat-callback.module';

/** The whole wxhub service. A host app imports it and calls `createApp(HostModule)`. */
@Module({
  imports: [
    WxhubConfigModule,
    MetricsModule,
    AuditModule,
    ThrottleModule,
    SandboxModule,
    TokenModule.forRootAsync({
      isGlobal: true,
      imports: [SandboxModule],
      inject: [WXHUB_CONFIG, SandboxRuntime],
      useFactory: (config: WxhubConfig, sandbox: SandboxRuntime) => ({
        accounts: config.accounts,
        redis: config.redis,
        keyPrefix: config.keyPrefix,
        apiBaseUrl: sandbox.baseUrl ?? config.apiBaseUrl,
        refreshAheadSeconds: config.token.refreshAheadSeconds,
        lockTtlMs: config.token.lockTtlMs,
        waitTimeoutMs: config.token.waitTimeoutMs,
        upstreamTimeoutMs: config.token.upstreamTimeoutMs,
        forceDailyBudget: config.token.forceDailyBudget,
        forceMinIntervalSeconds: config.token.forceMinIntervalSeconds,
      }),
    }),
    WechatCallbackModule.forRootAsync({
      imports: [SandboxModule],
      inject: [WXHUB_CONFIG, SandboxRuntime],
      useFactory: (config: WxhubConfig, sandbox: SandboxRuntime) => ({
        redis: config.redis,
        keyPrefix: config.keyPrefix,
        apiBaseUrl: sandbox.baseUrl ?? config.apiBaseUrl,
        handlerTimeoutMs: config.callback.handlerTimeoutMs,
        dedupeTtlSeconds: config.callback.dedupeTtlSeconds,
        maxClockSkewSeconds: config.callback.maxClockSkewSeconds,
      }),
    }),
    ApiModule.forRootAsync({
      isGlobal: true,
      imports: [SandboxModule],
      inject: [WXHUB_CONFIG, SandboxRuntime],
      useFactory: (config: WxhubConfig, sandbox: SandboxRuntime) => ({
        apiBaseUrl: sandbox.baseUrl ?? config.apiBaseUrl,
        // in sandbox mode the simulator also plays WeChat's OAuth page (it consents at once)
        oauthBaseUrl: sandbox.baseUrl ?? undefined,
      }),
    }),
    AdminModule,
    HealthModule,
    GatewayModule.forRootAsync({
      imports: [SandboxModule],
      inject: [WXHUB_CONFIG, SandboxRuntime],
      useFactory: (config: WxhubConfig, sandbox: SandboxRuntime) => ({
        apiBaseUrl: sandbox.baseUrl ?? config.apiBaseUrl,
        upstreamTimeoutMs: config.token.upstreamTimeoutMs,
      }),
    }),
  ],
  providers: [SandboxDemoHandlers],
})
export class AppModule {}
