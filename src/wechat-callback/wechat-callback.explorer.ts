import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AccountRegistry } from '../accounts/account-registry';
import { WECHAT_EVENT_HANDLER, WECHAT_MESSAGE_HANDLER } from './wechat-callback.constants';
import type { WechatHandlerMetadata } from './wechat-callback.decorators';
import { WechatCallbackRouter, type WechatHandlerFn } from './wechat-callback.router';

function describe(kind: string, meta: WechatHandlerMetadata): string {
  const narrowing = Object.entries(meta.options)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
  return `${kind}:${meta.type}${narrowing.length ? ` (${narrowing.join(', ')})` : ''}`;
}

/**
 * Finds every `@OnWechatMessage` / `@OnWechatEvent` method at bootstrap (providers and controllers of every module)
 * and registers it with the router, logging `Class.method -> route`.
 */
@Injectable()
export class WechatCallbackExplorer implements OnModuleInit {
  private readonly logger = new Logger('WechatCallback');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly router: WechatCallbackRouter,
    private readonly accounts: AccountRegistry,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = (instance as Record<string, unknown>)[method];
        if (typeof fn !== 'function') continue;
        for (const [key, kind] of [
          [WECHAT_MESSAGE_HANDLER, 'message'],
          [WECHAT_EVENT_HANDLER, 'event'],
        ] as const) {
          const meta = this.reflector.get<WechatHandlerMetadata | undefined>(key, fn);
          if (!meta) continue;
          const name = `${instance.constructor.name}.${method}`;
          if (!wrapper.isDependencyTreeStatic()) {
            this.logger.warn(`${name} is request-scoped: WeChat handlers must be singletons; skipped`);
            continue;
          }
          const { appId } = meta.options;
          if (appId !== undefined) {
            const account = this.accounts.get(appId);
            if (!account) throw new Error(`${name} handles account ${appId}, which is not configured`);
            if (!account.token)
              throw new Error(`${name} handles account ${appId}, which has no callback token configured`);
          }
          this.router.add({
            kind,
            type: meta.type,
            options: meta.options,
            name,
            handler: (fn as WechatHandlerFn).bind(instance),
          });
          this.logger.log(`${name} -> ${describe(kind, meta)}`);
        }
      }
    }
  }
}
