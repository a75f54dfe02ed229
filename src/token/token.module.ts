import { DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { optionsModule, type AsyncModuleOptions } from '../common/options-module';
import { RedisModule, RedisService, type RedisModuleOptions } from '@liaoliaots/nestjs-redis';
import { ScheduleModule } from '@nestjs/schedule';
import { AccountRegistry } from '../accounts/account-registry';
import { MemoryTokenStore } from '../store/memory-token-store';
import { redisClientCloser, redisModuleOptions } from '../store/redis-options';
import { RedisTokenStore } from '../store/redis-token-store';
import { TokenStore } from '../store/token-store';
import { TOKEN_PLANE_OPTIONS } from './token.constants';
import {
  resolveTokenPlaneOptions,
  type TokenModuleOptions,
  type TokenPlaneOptions,
} from './token-plane-options';
import { CredentialCoordinator } from './credential-coordinator';
import { TokenRefresher } from './token-refresher';
import { TokenScheduler } from './token-scheduler';
import { TicketService } from './ticket.service';
import { TokenService } from './token.service';
import { WechatTokenClient } from './wechat-token-client';

const TOKEN_MODULE_OPTIONS = Symbol('TOKEN_MODULE_OPTIONS');
const REDIS_NAMESPACE = 'wxhub';

export type TokenModuleAsyncOptions = AsyncModuleOptions<TokenModuleOptions>;

function tokenRedisOptions(options: TokenModuleOptions): RedisModuleOptions {
  return redisModuleOptions(options.store ? null : options.redis, REDIS_NAMESPACE);
}

function describeStore(options: TokenModuleOptions): string {
  const redis = options.redis;
  if (!redis) return 'embedded in-memory store';
  if (redis.kind === 'url') {
    const url = new URL(redis.url);
    return `redis at ${url.hostname}:${url.port || 6379}${url.pathname.length > 1 ? ` db ${url.pathname.slice(1)}` : ''}`;
  }
  if (redis.kind === 'sentinel') return `redis via sentinels (master "${redis.name}")`;
  return 'redis cluster';
}

const providers: Provider[] = [
  {
    provide: TOKEN_PLANE_OPTIONS,
    useFactory: (options: TokenModuleOptions) => resolveTokenPlaneOptions(options),
    inject: [TOKEN_MODULE_OPTIONS],
  },
  {
    provide: AccountRegistry,
    useFactory: (options: TokenModuleOptions) => new AccountRegistry(options.accounts),
    inject: [TOKEN_MODULE_OPTIONS],
  },
  {
    provide: TokenStore,
    useFactory: (options: TokenModuleOptions, plane: TokenPlaneOptions, redis: RedisService) => {
      const logger = new Logger('TokenStore');
      if (options.store) return options.store;
      if (!options.redis) {
        logger.warn(
          'using the embedded in-memory store: correct for ONE instance only; set REDIS_URL to run several',
        );
        return new MemoryTokenStore();
      }
      const description = describeStore(options);
      logger.log(`token store: ${description}, key prefix "${plane.keyPrefix}"`);
      return new RedisTokenStore(redis.getOrThrow(REDIS_NAMESPACE), plane.keyPrefix, description);
    },
    inject: [TOKEN_MODULE_OPTIONS, TOKEN_PLANE_OPTIONS, RedisService],
  },
  {
    provide: WechatTokenClient,
    useFactory: (plane: TokenPlaneOptions) =>
      new WechatTokenClient(plane.apiBaseUrl, plane.upstreamTimeoutMs),
    inject: [TOKEN_PLANE_OPTIONS],
  },
  CredentialCoordinator,
  TokenRefresher,
  TokenService,
  TokenScheduler,
  TicketService,
];

/**
 * The token plane. Import it once (`forRoot` / `forRootAsync`); inject `TokenService` anywhere.
 *
 * @example
 * TokenModule.forRoot({ accounts: [{ appId, appSecret, tokenEndpoint: 'stable', messageMode: 'plain' }], redis: { kind: 'url', url } })
 */
@Module({})
export class TokenModule {
  static forRoot(options: TokenModuleOptions & { isGlobal?: boolean }): DynamicModule {
    return this.define(optionsModule(TOKEN_MODULE_OPTIONS, { useValue: options }), options.isGlobal);
  }

  static forRootAsync(options: TokenModuleAsyncOptions): DynamicModule {
    return this.define(optionsModule(TOKEN_MODULE_OPTIONS, options), options.isGlobal);
  }

  // NOTE: not ConfigurableModuleBuilder: the Redis connection (nestjs-redis) must read the same options, so
  // they live in a small module that both this module and RedisModule import.
  private static define(options: DynamicModule, isGlobal = false): DynamicModule {
    return {
      module: TokenModule,
      global: isGlobal,
      imports: [
        options,
        ScheduleModule.forRoot(),
        RedisModule.forRootAsync(
          {
            imports: [options],
            inject: [TOKEN_MODULE_OPTIONS],
            useFactory: (o: unknown) => tokenRedisOptions(o as TokenModuleOptions),
            extraProviders: [redisClientCloser(REDIS_NAMESPACE)],
          },
          false,
        ),
      ],
      providers,
      exports: [TokenService, TicketService, TokenScheduler, AccountRegistry],
    };
  }
}
