import { DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { optionsModule, type AsyncModuleOptions } from '../common/options-module';
import { RedisConnectionModule } from '../store/redis-connection.module';
import type { RedisClient } from '../store/redis.constants';
import { CustomerServiceSender } from './customer-service-sender';
import { CallbackDedupeStore } from './dedupe/callback-dedupe-store';
import { MemoryCallbackDedupeStore } from './dedupe/memory-callback-dedupe-store';
import { RedisCallbackDedupeStore } from './dedupe/redis-callback-dedupe-store';
import { WECHAT_CALLBACK_OPTIONS } from './wechat-callback.constants';
import { WechatCallbackController } from './wechat-callback.controller';
import { WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackExplorer } from './wechat-callback.explorer';
import { resolveCallbackOptions, type WechatCallbackModuleOptions } from './wechat-callback-options';
import { WechatCallbackRouter } from './wechat-callback.router';
import { WechatPushHook } from './wechat-push.hook';
import { WechatCallbackVerifier } from './wechat-callback-verifier';

const MODULE_OPTIONS = Symbol('WECHAT_CALLBACK_MODULE_OPTIONS');
const REDIS_NAMESPACE = 'wxhub-callback';
const CALLBACK_REDIS = Symbol('WECHAT_CALLBACK_REDIS');

export type WechatCallbackModuleAsyncOptions = AsyncModuleOptions<WechatCallbackModuleOptions>;

const providers: Provider[] = [
  {
    provide: WECHAT_CALLBACK_OPTIONS,
    useFactory: (options: WechatCallbackModuleOptions) => {
      const resolved = resolveCallbackOptions(options);
      if (resolved.maxClockSkewSeconds === 0)
        new Logger('WechatCallback').warn(
          'the callback timestamp window is off (CALLBACK_MAX_CLOCK_SKEW_SECONDS=0): a recorded push replayed ' +
            `after ${resolved.dedupeTtlMs / 1000} s is handled again`,
        );
      return resolved;
    },
    inject: [MODULE_OPTIONS],
  },
  {
    provide: CallbackDedupeStore,
    useFactory: (options: WechatCallbackModuleOptions, redis: RedisClient | null) => {
      if (options.dedupeStore) return options.dedupeStore;
      if (!redis) {
        new Logger('WechatCallback').warn('de-duplicating pushes in memory: correct for ONE instance only');
        return new MemoryCallbackDedupeStore();
      }
      return new RedisCallbackDedupeStore(redis, resolveCallbackOptions(options).keyPrefix);
    },
    inject: [MODULE_OPTIONS, CALLBACK_REDIS],
  },
  { provide: WechatCallbackRouter, useFactory: () => new WechatCallbackRouter() },
  WechatCallbackExplorer,
  WechatCallbackVerifier,
  WechatCallbackDispatcher,
  WechatPushHook,
  CustomerServiceSender,
];

/**
 * The callback plane: `GET|POST /wechat/:appId`, verified, decrypted, de-duplicated and routed to
 * `@OnWechatMessage` / `@OnWechatEvent` methods of any provider. Needs the token plane (TokenModule, global) for
 * the accounts and for late replies through the customer-service API.
 */
@Module({})
export class WechatCallbackModule {
  static forRoot(options: WechatCallbackModuleOptions = {}): DynamicModule {
    return this.define(optionsModule(MODULE_OPTIONS, { useValue: options }));
  }

  static forRootAsync(options: WechatCallbackModuleAsyncOptions): DynamicModule {
    return this.define(optionsModule(MODULE_OPTIONS, options));
  }

  private static define(options: DynamicModule): DynamicModule {
    return {
      module: WechatCallbackModule,
      imports: [
        options,
        DiscoveryModule,
        RedisConnectionModule.forRootAsync({
          provide: CALLBACK_REDIS,
          namespace: REDIS_NAMESPACE,
          // every push claims and completes its key: one write per event-loop turn instead of one per command
          autoPipelining: true,
          imports: [options],
          inject: [MODULE_OPTIONS],
          useFactory: (o: WechatCallbackModuleOptions) => (o.dedupeStore ? null : o.redis),
        }),
      ],
      controllers: [WechatCallbackController],
      providers,
      exports: [WechatCallbackRouter],
    };
  }
}
