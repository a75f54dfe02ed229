import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module';
import { startFastPathApp, type FastPathApp } from '../../test/support/fast-path-app';
import { TokenService, type AccessToken } from '../token/token.service';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { TokenReadHttpHandler } from './token-read.http-handler';

/*
 * createApp answers GET /api/v1/accounts/:appId/token from Node's HTTP server, ahead of Fastify and Nest; the
 * controller route still serves it wherever that handler is not in front (here: `inject()`, which bypasses the
 * server). Every request below is sent both ways and must get the same answer.
 */

const APP_ID = 'wxfastread00000001';
const KEY = 'fast-read-key-0000000000000001';
/** Used only by the tests of the synchronous way, so that it is new to the handler there. */
const SECOND_KEY = 'fast-read-key-0000000000000002';
interface Answer {
  status: number;
  contentType: string;
  body: unknown;
  requestId?: string;
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
      ADMIN_API_KEYS: `${KEY},${SECOND_KEY}`,
    });
    ({ app, base, served } = fastPath);
  });

  afterAll(async () => {
    await fastPath?.close();
  });

  beforeEach(() => {
    served.length = 0;
  });

  async function overHttp(path: string, authorization?: string, requestId?: string): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    const response = await fetch(base + path, { headers });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.json(),
      ...(requestId === undefined ? {} : { requestId: response.headers.get('x-request-id') ?? '' }),
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

  describe('the synchronous way (a key already verified, the token in memory)', () => {
    const path = `/api/v1/accounts/${APP_ID}/token`;
    let tokens: TokenService;
    let current: AccessToken;

    const limiter = (): FailedAuthLimiter => app.get(FailedAuthLimiter, { strict: false });

    beforeAll(() => {
      tokens = app.get(TokenService, { strict: false });
    });

    beforeEach(() => {
      current = { value: 'IN_MEMORY_TOKEN', version: 11, expiresAt: new Date(Date.now() + 3_600_500) };
      jest.spyOn(tokens, 'cachedToken').mockImplementation(() => current);
    });

    afterEach(() => {
      // one by one: startFastPathApp's recorder is a spy too
      for (const spy of [tokens.cachedToken, tokens.getToken, limiter().isBlocked, limiter().blocked]) {
        if (jest.isMockFunction(spy)) spy.mockRestore();
      }
    });

    it('answers a verified key from memory without getToken, as the full way and the controller answer', async () => {
      const getToken = jest.spyOn(tokens, 'getToken');

      // a key the handler has not verified yet goes the full way (authenticate, then getToken)
      const first = await overHttp(path, `Bearer ${SECOND_KEY}`, 'first-read');
      expect(getToken).toHaveBeenCalledTimes(1);
      // from then on it is answered from memory
      const second = await overHttp(path, `Bearer ${SECOND_KEY}`, 'second-read');
      const third = await overHttp(path, `Bearer ${SECOND_KEY}`);
      expect(getToken).toHaveBeenCalledTimes(1);
      expect(served.length).toBeGreaterThanOrEqual(3);
      expect(served.every(Boolean)).toBe(true);

      const expected = {
        status: 200,
        contentType: 'application/json; charset=utf-8',
        body: {
          access_token: 'IN_MEMORY_TOKEN',
          expires_in: expect.any(Number),
          expires_at: current.expiresAt.toISOString(),
          version: 11,
        },
      };
      expect(first).toEqual({ ...expected, requestId: 'first-read' });
      expect(second).toEqual({ ...expected, requestId: 'second-read' });
      expect(third).toEqual(expected);
      expect((second.body as { expires_in: number }).expires_in).toBeGreaterThan(3595);
      expect(await injected(path, `Bearer ${SECOND_KEY}`)).toEqual(expected);
    });

    it('answers a new token at once and counts expires_in down', async () => {
      await overHttp(path, `Bearer ${SECOND_KEY}`);
      const before = (await overHttp(path, `Bearer ${SECOND_KEY}`)).body as { expires_in: number };

      current = { value: 'ROTATED_TOKEN', version: 12, expiresAt: current.expiresAt };
      const rotated = (await overHttp(path, `Bearer ${SECOND_KEY}`)).body as Record<string, unknown>;
      expect(rotated).toMatchObject({ access_token: 'ROTATED_TOKEN', version: 12 });

      await sleep(1_050);
      const later = (await overHttp(path, `Bearer ${SECOND_KEY}`)).body as { expires_in: number };
      expect(before.expires_in - later.expires_in).toBe(1);
    });

    it('still refuses a wrong key, and a blocked address even with a verified key', async () => {
      await overHttp(path, `Bearer ${SECOND_KEY}`);
      const wrong = await overHttp(path, `Bearer ${'y'.repeat(SECOND_KEY.length)}`);
      expect(wrong.status).toBe(401);

      jest.spyOn(limiter(), 'isBlocked').mockReturnValue(true);
      jest.spyOn(limiter(), 'blocked').mockReturnValue(true);
      const blocked = await overHttp(path, `Bearer ${SECOND_KEY}`);
      expect(blocked.status).toBe(429);
      expect(blocked.body).toMatchObject({ statusCode: 429 });
    });

    it('goes the full way when the token is not in memory', async () => {
      await overHttp(path, `Bearer ${SECOND_KEY}`);
      jest.spyOn(tokens, 'cachedToken').mockReturnValue(undefined);
      const getToken = jest
        .spyOn(tokens, 'getToken')
        .mockResolvedValue({ value: 'FROM_THE_STORE', version: 13, expiresAt: current.expiresAt });

      const answer = await overHttp(path, `Bearer ${SECOND_KEY}`);
      expect(getToken).toHaveBeenCalledTimes(1);
      expect(answer.body).toMatchObject({ access_token: 'FROM_THE_STORE', version: 13 });
    });
  });

  it('leaves other methods and paths to the framework', async () => {
    const post = await fetch(`${base}/api/v1/accounts/${APP_ID}/token`, { method: 'POST' });
    const other = await fetch(`${base}/api/v1/accounts/${APP_ID}/token/extra`);
    expect(served).toEqual([false, false]);
    expect(post.status).toBe(404);
    expect(other.status).toBe(404);
  });
});
