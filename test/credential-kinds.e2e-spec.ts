import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisTokenStore } from '../src/store/redis-token-store';
import type { CredentialRecord } from '../src/store/token-store';
import {
  AUTHORIZER,
  FakeOpenPlatform,
  authorizerRecord,
  credentialKindContract,
  kindPlane,
  type KindBackend,
} from './support/credential-kind-fixtures';
import { type RedisServerHandle, startRedis } from './support/redis-server';

jest.setTimeout(30_000);

// NOTE: inside one describe, so the server stops before the e2e setup's afterAll kills what is left
describe('credential kinds on a real redis-server', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let prefix = '';
  const opened: { store: RedisTokenStore; client: Redis }[] = [];

  /** A store per connection, as one per process, all on the same key prefix. */
  const backend: KindBackend = {
    open() {
      const client = server.client();
      const store = new RedisTokenStore(client, prefix);
      opened.push({ store, client });
      return store;
    },
    async closeAll() {
      await Promise.all(
        opened.splice(0).map(async ({ store, client }) => {
          await store.close();
          await client.quit().catch(() => client.disconnect());
        }),
      );
      prefix = `wxkinds-${randomUUID().slice(0, 8)}`;
    },
  };

  beforeAll(async () => {
    server = await startRedis();
    admin = server.client();
    prefix = `wxkinds-${randomUUID().slice(0, 8)}`;
  });

  afterAll(async () => {
    await backend.closeAll();
    await admin.quit();
    await server.stop();
  });

  describe('CredentialEngine: a kind fetched with another credential that persists a refresh token (Redis)', () => {
    credentialKindContract(() => backend);
  });

  describe('credential records in Redis', () => {
    afterEach(() => backend.closeAll());

    it('keeps the key layout and record fields, the refresh token one more field of the same JSON value', async () => {
      const wechat = new FakeOpenPlatform();
      const store = backend.open();
      await store.compareAndSet(AUTHORIZER, 'authorizer_token', authorizerRecord(1, 'refresh-1', -1_000), 0);
      const plane = kindPlane(store, wechat, 'a');
      try {
        await plane.authorizer.get(AUTHORIZER);
      } finally {
        await plane.close();
      }

      const raw = JSON.parse((await admin.get(`${prefix}:{${AUTHORIZER}}:authorizer_token`)) ?? 'null');
      expect(Object.keys(raw).sort()).toEqual(
        ['endpoint', 'expiresAt', 'fetchedAt', 'refreshToken', 'source', 'value', 'version'].sort(),
      );
      expect(raw).toMatchObject({
        version: 2,
        value: wechat.latestValue,
        refreshToken: wechat.latestRefreshToken,
      });
    });

    it('reads a record written before records could carry a refresh token, and replaces it by compare-and-set', async () => {
      const key = `${prefix}:{wxolder00000000001}:token`;
      const older: CredentialRecord = {
        value: 'ACCESS_TOKEN_OLD',
        version: 7,
        fetchedAt: Date.now() - 1_000,
        expiresAt: Date.now() + 7_199_000,
        endpoint: 'stable',
        source: 'schedule',
      };
      await admin.set(key, JSON.stringify(older));
      const store = backend.open();

      expect(await store.get('wxolder00000000001', 'token')).toEqual(older);
      const next = { ...older, value: 'ACCESS_TOKEN_NEW', version: 8 };
      expect((await store.compareAndSet('wxolder00000000001', 'token', next, 7)).stored).toBe(true);
      expect(JSON.parse((await admin.get(key)) ?? 'null')).toEqual(next);
    });
  });
});
