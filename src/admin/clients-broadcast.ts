import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { ClientRegistry } from '../clients/client-registry';
import { InjectWxhubConfig } from '../config/wxhub-config.module';
import type { WxhubConfig } from '../config/wxhub-config';
import { InjectOpsRedis, type RedisClient } from '../store/redis.constants';
import { AccountsReloader } from './accounts-reloader';

const FLEET_RELOAD = Object.freeze({ id: 'fleet-reload' });

/**
 * Makes a clients change reach every instance at once: when this instance's clients change (a reload), it publishes
 * the new revision on `<REDIS_KEY_PREFIX>:clients:changed`; an instance that hears a revision other than its own
 * re-reads its configuration (AccountsReloader.reload), so a removed client is refused fleet-wide from the next
 * request, not at the next file poll. Only a change is published, so instances whose configurations differ do not
 * answer each other forever. Without Redis there is one instance, and nothing to tell.
 */
@Injectable()
export class ClientsBroadcast implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClientsBroadcast.name);
  private readonly channel: string;
  private subscriber: RedisClient | undefined;
  private unsubscribe: (() => void) | undefined;
  private published: string;

  constructor(
    @InjectWxhubConfig() config: WxhubConfig,
    private readonly clients: ClientRegistry,
    private readonly reloader: AccountsReloader,
    @Optional() @InjectOpsRedis() private readonly redis?: RedisClient | null,
  ) {
    this.channel = `${config.keyPrefix}:clients:changed`;
    this.published = clients.revision;
  }

  onApplicationBootstrap(): void {
    const redis = this.redis;
    if (!redis) return;
    this.unsubscribe = this.clients.onReplace((revision) => {
      if (revision === this.published) return;
      this.published = revision;
      redis
        .publish(this.channel, revision)
        .catch((error: Error) => this.logger.warn(`clients change not announced: ${error.message}`));
    });
    const subscriber = redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, revision: string) => this.heard(revision));
    // NOTE: subscribed on every 'ready', not awaited at boot: with Redis down the boot goes on, and the
    // subscription is made (again) whenever the connection is (SUBSCRIBE twice to one channel is harmless)
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).catch((error: Error) => {
        this.logger.warn(`clients changes of other instances not followed: ${error.message}`);
      });
    });
    subscriber.on('error', () => undefined);
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) subscriber.disconnect();
  }

  private heard(revision: string): void {
    if (revision === this.clients.revision) return;
    this.logger.log('clients changed on another instance: reloading');
    this.reloader.reload(FLEET_RELOAD).catch((error: Error) => {
      this.logger.warn(`clients change of another instance not applied here: ${error.message}`);
    });
  }
}
