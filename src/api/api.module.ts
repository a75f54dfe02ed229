import { DynamicModule, Module } from '@nestjs/common';
import { optionsModule, type AsyncModuleOptions } from '../common/options-module';
import { API_OPTIONS } from './api.constants';
import { resolveApiOptions, type ApiModuleOptions } from './api-options';
import { WechatApiClient } from './wechat-api-client';
import { WechatOAuth } from './wechat-oauth';

const API_MODULE_OPTIONS = Symbol('WXHUB_API_MODULE_OPTIONS');

export type ApiModuleAsyncOptions = AsyncModuleOptions<ApiModuleOptions>;

/**
 * The API plane: `WechatApiClient` (typed WeChat APIs with token injection, typed errors and bounded retries)
 * and `WechatOAuth` (web authorization). Needs the token plane (`TokenModule`, global) for tokens and accounts.
 *
 * @example
 * imports: [TokenModule.forRoot({ accounts, isGlobal: true }), ApiModule.forRoot({ timeoutMs: 5000 })]
 * // then: constructor(private readonly wechat: WechatApiClient) {}
 * //       await this.wechat.user.info(appId, openid)
 */
@Module({})
export class ApiModule {
  static forRoot(options: ApiModuleOptions & { isGlobal?: boolean } = {}): DynamicModule {
    return this.define(optionsModule(API_MODULE_OPTIONS, { useValue: options }), options.isGlobal);
  }

  static forRootAsync(options: ApiModuleAsyncOptions): DynamicModule {
    return this.define(optionsModule(API_MODULE_OPTIONS, options), options.isGlobal);
  }

  private static define(options: DynamicModule, isGlobal = false): DynamicModule {
    return {
      module: ApiModule,
      global: isGlobal,
      imports: [options],
      providers: [
        {
          provide: API_OPTIONS,
          useFactory: (moduleOptions: ApiModuleOptions) => resolveApiOptions(moduleOptions),
          inject: [API_MODULE_OPTIONS],
        },
        WechatApiClient,
        WechatOAuth,
      ],
      exports: [WechatApiClient, WechatOAuth],
    };
  }
}
