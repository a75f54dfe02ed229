import { DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { RedisModule, RedisService } from '@liaoliaots/nestjs-redis';
import { optionsModule, type AsyncModuleOptions } from '../common/options-module';
import { redisClientCloser, redisModuleOptions } from '../store/redis-options';
import { CustomerServiceSender } from './customer-service-sender';
import { CallbackDedupeStore } from './dedupe/callback-dedupe-store';
import { MemoryCallbackDedupeStore } from './dedupe/memory-callback-dedupe-store';
import { RedisCallbackDedupeStore } from './dedupe/redis-callback-dedupe-store';
import { WECHAT_CALLBACK_OPTIONS } from './wechat-callback.constants';
import { WechatCallbackController } from './wechat-callback.controller';
import { WechatCallbackDispatcher } from './wechat-callback.dispatcher';
import { WechatCallbackExplorer } from './wechat-callback.explorer';
import { WechatCallbackHttpHandler } from './wechat-callback.http-handler';
import { resolveCallbackOptions, type WechatCallbackModuleOptions } from './wechat-callback-options';
import { WechatCallbackRouter } from './wechat-callback.router';
import { WechatCallbackVerifier } from './wechat-callback-verifier';

const MODULE_OPTIONS = Symbol('WECHAT_CALLBACK_MODULE_OPTIONS');
const REDIS_NAMESPACE = 'wxhub-callback';

export type WechatCallbackModuleAsyncOptions = AsyncModuleOptions<WechatCallbackModuleOptions>;

const providers: Provider[] = [
  {
    provide: WECHAT_CALLBACK_OPTIONS,
    useFactory: (options: WechatCallbackModuleOptions) => resolveCallbackOptions(options),
    inject: [MODULE_OPTIONS],
  },
  {
    provide: CallbackDedupeStore,
    useFactory: (options: WechatCallbackModuleOptions, redis: RedisService) => {
      if (options.dedupeStore) return options.dedupeStore;
      if (!options.redis) {
        new Logger('WechatCallback').warn('de-duplicating pushes in memory: correct for ONE instance only');
        return new MemoryCallbackDedupeStore();
      }
      return new RedisCallbackDedupeStore(
        redis.getOrThrow(REDIS_NAMESPACE),
        resolveCallbackOptions(options).keyPrefix,
      );
    },
    inject: [MODULE_OPTIONS, RedisService],
  },
  { provide: WechatCallbackRouter, useFactory: () => new WechatCallbackRouter() },
  WechatCallbackExplorer,
  WechatCallbackVerifier,
  WechatCallbackDispatcher,
  WechatCallbackHttpHandler,
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
        RedisModule.forRootAsync(
          {
            imports: [options],
            inject: [MODULE_OPTIONS],
            useFactory: (o: unknown) => {
              const callbackOptions = o as WechatCallbackModuleOptions;
              return redisModuleOptions(
                callbackOptions.dedupeStore ? null : callbackOptions.redis,
                REDIS_NAMESPACE,
              );
            },
            extraProviders: [redisClientCloser(REDIS_NAMESPACE)],
          },
          false,
        ),
      ],
      controllers: [WechatCallbackController],
      providers,
      exports: [WechatCallbackRouter, WechatCallbackHttpHandler],
    };
  }
}
