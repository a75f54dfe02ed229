import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module';
import { startFastPathApp, type FastPathApp } from '../../test/support/fast-path-app';
import { TokenService } from '../token/token.service';
import { TokenReadHttpHandler } from './token-read.http-handler';

/*
 * createApp answers GET /api/v1/accounts/:appId/token from Node's HTTP server, ahead of Fastify and Nest; the
 * controller route still serves it wherever that handler is not in front (here: `inject()`, which bypasses the
 * server). Every request below is sent both ways and must get the same answer.
 */

const APP_ID = 'wxfastread00000001';
const KEY = 'fast-read-key-0000000000000001';
interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

describe('TokenReadHttpHandler (createApp)', () => {
  let app: NestFastifyApplication;
  let base: string;
  let served: boolean[];
  let fastPath: FastPathApp;

  beforeAll(async () => {
    fastPath = await startFastPathApp(AppModule, TokenReadHttpHandler, {
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP_ID, appSecret: 'fastreadsecret0000000001' }]),
      WECHAT_SANDBOX: 'false',
      // nothing listens there: no token can be had until a test provides one
      WECHAT_API_BASE_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEYS: KEY,
    });
    ({ app, base, served } = fastPath);
  });

  afterAll(async () => {
    await fastPath?.close();
  });

  beforeEach(() => {
    served.length = 0;
  });

  async function overHttp(path: string, authorization?: string): Promise<Answer> {
    const response = await fetch(base + path, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.json(),
    };
  }

  async function injected(path: string, authorization?: string): Promise<Answer> {
    const response = await app.inject({
      method: 'GET',
      url: path,
      headers: authorization === undefined ? {} : { authorization },
    });
    return {
      status: response.statusCode,
      contentType: String(response.headers['content-type']),
      body: response.json(),
    };
  }

  it('serves the token ahead of the framework, with the same answer as the controller', async () => {
    const tokens = app.get(TokenService, { strict: false });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const getToken = jest
      .spyOn(tokens, 'getToken')
      .mockResolvedValue({ value: 'TOKEN_VALUE', version: 7, expiresAt });
    const path = `/api/v1/accounts/${APP_ID}/token`;

    // the HTTP request is taken by the handler; inject() reaches the controller route
    const fast = await overHttp(path, `Bearer ${KEY}`);
    expect(served).toEqual([true]);
    const framework = await injected(path, `Bearer ${KEY}`);
    expect(getToken).toHaveBeenCalledTimes(2);

    expect(fast).toEqual({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      body: {
        access_token: 'TOKEN_VALUE',
        expires_in: expect.any(Number),
        expires_at: expiresAt.toISOString(),
        version: 7,
      },
    });
    expect(fast).toEqual(framework);
    getToken.mockRestore();
  });

  it.each([
    { name: 'no key', authorization: undefined, appId: APP_ID, status: 401 },
    {
      name: 'a wrong key of the right length',
      authorization: `Bearer ${'x'.repeat(KEY.length)}`,
      appId: APP_ID,
      status: 401,
    },
    { name: 'an unknown account', authorization: `Bearer ${KEY}`, appId: 'wxnotconfigured001', status: 404 },
    {
      name: 'no token to be had (WeChat unreachable)',
      authorization: `Bearer ${KEY}`,
      appId: APP_ID,
      status: 503,
    },
  ])('answers $name with $status, as the controller does', async ({ authorization, appId, status }) => {
    const path = `/api/v1/accounts/${appId}/token`;
    const fast = await overHttp(path, authorization);
    expect(served).toEqual([true]);
    const framework = await injected(path, authorization);
    expect(fast.status).toBe(status);
    expect(fast.body).toMatchObject({ statusCode: status, message: expect.any(String) });
    expect(fast).toEqual(framework);
  });

  it('leaves other methods and paths to the framework', async () => {
    const post = await fetch(`${base}/api/v1/accounts/${APP_ID}/token`, { method: 'POST' });
    const other = await fetch(`${base}/api/v1/accounts/${APP_ID}/token/extra`);
    expect(served).toEqual([false, false]);
    expect(post.status).toBe(404);
    expect(other.status).toBe(404);
  });
});
