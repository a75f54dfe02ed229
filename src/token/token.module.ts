import { DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { optionsModule, type AsyncModuleOptions } from '../common/options-module';
import { ScheduleModule } from '@nestjs/schedule';
import { AccountRegistry } from '../accounts/account-registry';
import { MemoryTokenStore } from '../store/memory-token-store';
import { RedisConnectionModule } from '../store/redis-connection.module';
import { RedisTokenStore } from '../store/redis-token-store';
import { WXHUB_REDIS, type RedisClient } from '../store/redis.constants';
import { TokenStore } from '../store/token-store';
import { TOKEN_PLANE_OPTIONS } from './token.constants';
import {
  resolveTokenPlaneOptions,
  type TokenModuleOptions,
  type TokenPlaneOptions,
} from './token-plane-options';
import { CredentialCoordinator } from './credential-coordinator';
import { CredentialEngines } from './credential-engine';
import { ForceBudget } from './force-budget';
import { TokenAudit } from './token-audit';
import { TokenOperatorView } from './token-operator-view';
import { TokenReader } from './token-reader';
import { TokenRefresher } from './token-refresher';
import { TokenScheduler } from './token-scheduler';
import { TicketService } from './ticket.service';
import { TokenService } from './token.service';
import { WechatTokenClient } from './wechat-token-client';

const TOKEN_MODULE_OPTIONS = Symbol('TOKEN_MODULE_OPTIONS');
const REDIS_NAMESPACE = 'wxhub';

export type TokenModuleAsyncOptions = AsyncModuleOptions<TokenModuleOptions>;

function describeStore(options: TokenModuleOptions): string {
  const redis = options.redis;
  if (!redis) return 'embedded in-memory store';
  if (redis.kind === 'url') {
    const url = new URL(redis.url);
    return `redis at ${url.hostname}:${url.port || 6379}${url.pathname.length > 1 ? ` db ${url.pathname.slice(1)}` : ''}`;
  }
  if (redis.kind === 'sentinel') return `redis via sentinels (master "${redis.name}")`;
  return `redis cluster (seed nodes ${redis.nodes.map((n) => `${n.host}:${n.port}`).join(', ')})`;
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
    useFactory: (options: TokenModuleOptions, plane: TokenPlaneOptions, redis: RedisClient | null) => {
      const logger = new Logger('TokenStore');
      if (options.store) return options.store;
      if (!redis || !options.redis) {
        logger.warn(
          'using the embedded in-memory store: correct for ONE instance only; set REDIS_URL to run several',
        );
        return new MemoryTokenStore();
      }
      const description = describeStore(options);
      logger.log(`token store: ${description}, key prefix "${plane.keyPrefix}"`);
      return new RedisTokenStore(redis, plane.keyPrefix, description);
    },
    inject: [TOKEN_MODULE_OPTIONS, TOKEN_PLANE_OPTIONS, WXHUB_REDIS],
  },
  {
    provide: WechatTokenClient,
    useFactory: (plane: TokenPlaneOptions) =>
      new WechatTokenClient(plane.apiBaseUrl, plane.upstreamTimeoutMs),
    inject: [TOKEN_PLANE_OPTIONS],
  },
  CredentialCoordinator,
  CredentialEngines,
  TokenRefresher,
  TokenReader,
  ForceBudget,
  TokenOperatorView,
  TokenAudit,
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

  // NOTE: not ConfigurableModuleBuilder: the Redis connection must read the same options, so they live in a
  // small module that both this module and the connection import.
  private static define(options: DynamicModule, isGlobal = false): DynamicModule {
    const connection = RedisConnectionModule.forRootAsync({
      provide: WXHUB_REDIS,
      namespace: REDIS_NAMESPACE,
      imports: [options],
      inject: [TOKEN_MODULE_OPTIONS],
      useFactory: (o: TokenModuleOptions) => (o.store ? null : o.redis),
    });
    return {
      module: TokenModule,
      global: isGlobal,
      imports: [options, ScheduleModule.forRoot(), connection],
      providers,
      // the connection is exported so that other modules can share it (@InjectWxhubRedis())
      exports: [TokenService, TicketService, TokenScheduler, AccountRegistry, connection],
    };
  }
}
