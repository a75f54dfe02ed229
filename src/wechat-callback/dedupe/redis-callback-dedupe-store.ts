import type { Cluster, Redis } from 'ioredis';
import { EXTEND_LOCK, RELEASE_LOCK } from '../../store/redis-scripts';
import {
  decodeState,
  DONE,
  PROCESSING,
  type CallbackDedupeStore,
  type DedupeState,
} from './callback-dedupe-store';

interface ScriptedClient {
  wxhubDedupeRelease(key: string, value: string): Promise<number>;
  wxhubDedupeExtend(key: string, value: string, ttlMs: number): Promise<number>;
}

/** De-duplication across instances: `<prefix>:{<appId>}:dedupe:<id>` holds `p:<owner>` or `d:<response>`. */
export class RedisCallbackDedupeStore implements CallbackDedupeStore {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix: string,
  ) {
    client.defineCommand('wxhubDedupeRelease', { numberOfKeys: 1, lua: RELEASE_LOCK });
    client.defineCommand('wxhubDedupeExtend', { numberOfKeys: 1, lua: EXTEND_LOCK });
  }

  private key(appId: string, id: string): string {
    return `${this.prefix}:{${appId}}:dedupe:${id}`;
  }

  private get scripts(): ScriptedClient {
    return this.client as unknown as ScriptedClient;
  }

  async claim(appId: string, id: string, owner: string, processingTtlMs: number): Promise<DedupeState> {
    const key = this.key(appId, id);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.client.set(key, PROCESSING + owner, 'PX', processingTtlMs, 'NX')) === 'OK')
        return { state: 'claimed' };
      const state = decodeState(await this.client.get(key));
      if (state) return state;
    }
    return { state: 'processing' };
  }

  async peek(appId: string, id: string): Promise<DedupeState | null> {
    return decodeState(await this.client.get(this.key(appId, id)));
  }

  async extend(appId: string, id: string, owner: string, processingTtlMs: number): Promise<void> {
    await this.scripts.wxhubDedupeExtend(this.key(appId, id), PROCESSING + owner, processingTtlMs);
  }

  async complete(appId: string, id: string, response: string, ttlMs: number): Promise<void> {
    await this.client.set(this.key(appId, id), DONE + response, 'PX', ttlMs);
  }

  async release(appId: string, id: string, owner: string): Promise<void> {
    await this.scripts.wxhubDedupeRelease(this.key(appId, id), PROCESSING + owner);
  }
}
