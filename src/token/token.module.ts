import { DynamicModule, Logger, Module, type FactoryProvider, type ModuleMetadata, type Provider } from '@nestjs/common';
import { RedisModule, RedisService, type RedisModuleOptions } from '@liaoliaots/nestjs-redis';
import { ScheduleModule } from '@nestjs/schedule';
import { AccountRegistry } from '../accounts/account-registry';
import { MemoryTokenStore } from '../store/memory-token-store';
import { RedisTokenStore } from '../store/redis-token-store';
import { TokenStore } from '../store/token-store';
import { TOKEN_PLANE_OPTIONS } from './token.constants';
import { resolveTokenPlaneOptions, type TokenModuleOptions, type TokenPlaneOptions } from './token-plane-options';
import { TokenRefresher } from './token-refresher';
import { TokenScheduler } from './token-scheduler';
import { TokenService } from './token.service';
import { WechatTokenClient } from './wechat-token-client';

const TOKEN_MODULE_OPTIONS = Symbol('TOKEN_MODULE_OPTIONS');
const REDIS_NAMESPACE = 'wxhub';

export interface TokenModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => TokenModuleOptions | Promise<TokenModuleOptions>;
  inject?: FactoryProvider['inject'];
  isGlobal?: boolean;
}

/** Holds the options so that both the token plane and its Redis connection can read them. */
@Module({})
class TokenOptionsModule {}

function redisModuleOptions(options: TokenModuleOptions): RedisModuleOptions {
  const redis = options.store ? null : options.redis;
  if (!redis) return { config: [] };
  if (redis.kind === 'cluster') throw new Error('Redis Cluster is not supported by this TokenModule version');
  const logger = new Logger('Redis');
  let lastLogged = 0;
  const common = {
    namespace: REDIS_NAMESPACE,
    // a paused or unreachable Redis must not hang token reads: fail fast and serve the in-process copy
    commandTimeout: 1000,
    connectTimeout: 3000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    onClientCreated: (client: { on(event: 'error', listener: (error: Error) => void): unknown }) => {
      client.on('error', (error: Error) => {
        if (Date.now() - lastLogged < 10_000) return;
        lastLogged = Date.now();
        logger.warn(`Redis connection problem: ${error.message}`);
      });
    },
  };
  return {
    readyLog: false,
    errorLog: false,
    config: redis.kind === 'url' ? { ...common, url: redis.url } : { ...common, sentinels: redis.sentinels, name: redis.name },
  };
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
        logger.warn('using the embedded in-memory store: correct for ONE instance only; set REDIS_URL to run several');
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
    useFactory: (plane: TokenPlaneOptions) => new WechatTokenClient(plane.apiBaseUrl, plane.upstreamTimeoutMs),
    inject: [TOKEN_PLANE_OPTIONS],
  },
  TokenRefresher,
  TokenService,
  TokenScheduler,
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
    return this.define({ provide: TOKEN_MODULE_OPTIONS, useValue: options }, [], options.isGlobal);
  }

  static forRootAsync(options: TokenModuleAsyncOptions): DynamicModule {
    return this.define(
      { provide: TOKEN_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
      options.imports ?? [],
      options.isGlobal,
    );
  }

  // NOTE: not ConfigurableModuleBuilder: the Redis connection (nestjs-redis) must read the same options, so
  // they live in a small module that both this module and RedisModule import.
  private static define(optionsProvider: Provider, imports: ModuleMetadata['imports'], isGlobal = false): DynamicModule {
    const optionsModule: DynamicModule = {
      module: TokenOptionsModule,
      imports,
      providers: [optionsProvider],
      exports: [TOKEN_MODULE_OPTIONS],
    };
    return {
      module: TokenModule,
      global: isGlobal,
      imports: [
        optionsModule,
        ScheduleModule.forRoot(),
        RedisModule.forRootAsync(
          { imports: [optionsModule], inject: [TOKEN_MODULE_OPTIONS], useFactory: (o: unknown) => redisModuleOptions(o as TokenModuleOptions) },
          false,
        ),
      ],
      providers,
      exports: [TokenService, AccountRegistry],
    };
  }
}
