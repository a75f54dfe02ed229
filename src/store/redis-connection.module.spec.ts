import { setTimeout as delay } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import type { RedisConnection } from '../config/redis-topology';
import { TokenModule } from '../token/token.module';
import { InjectWxhubRedis, isCluster, WXHUB_REDIS, type RedisClient } from './redis.constants';
import { RedisConnectionModule } from './redis-connection.module';

@Injectable()
class SharesTheTokenPlaneConnection {
  constructor(@InjectWxhubRedis() readonly redis: RedisClient | null) {}
}

@Module({ providers: [SharesTheTokenPlaneConnection] })
class FeatureModule {}

const OWN_REDIS = Symbol('OWN_REDIS');

async function compile(redis: RedisConnection | null) {
  return Test.createTestingModule({
    imports: [
      TokenModule.forRoot({ accounts: [], redis, isGlobal: true }),
      FeatureModule,
      RedisConnectionModule.forRootAsync({ provide: OWN_REDIS, namespace: 'own', useFactory: () => redis }),
    ],
  }).compile();
}

describe('RedisConnectionModule', () => {
  it('without Redis every connection is null and the token plane uses memory', async () => {
    const moduleRef = await compile(null);
    expect(moduleRef.get(SharesTheTokenPlaneConnection).redis).toBeNull();
    expect(moduleRef.get(OWN_REDIS)).toBeNull();
    await moduleRef.close();
  });

  it('any module of the app gets the token plane client through @InjectWxhubRedis(); another connection is its own client, and both close at shutdown', async () => {
    // nothing listens on port 1: the clients are made (and keep retrying) without a server
    const moduleRef = await compile({ kind: 'url', url: 'redis://127.0.0.1:1' });
    const shared = moduleRef.get(SharesTheTokenPlaneConnection).redis;
    const own = moduleRef.get<RedisClient>(OWN_REDIS);
    expect(shared).toBeInstanceOf(Redis);
    expect(shared).toBe(moduleRef.get(WXHUB_REDIS));
    expect(isCluster(shared!)).toBe(false);
    expect(own).toBeInstanceOf(Redis);
    expect(own).not.toBe(shared);
    const ended = Promise.all(
      [shared!, own].map((client) => new Promise((resolve) => client.once('end', resolve))),
    );
    await moduleRef.close();
    await expect(Promise.race([ended, delay(2000).then(() => 'still open')])).resolves.not.toBe('still open');
    expect([shared!.status, own.status]).toEqual(['end', 'end']);
  });
});
