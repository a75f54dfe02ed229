import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module';
import { startInProcessApp, type InProcessApp } from '../../test/support/in-process-app';
import { TokenService, type AccessToken } from '../token/token.service';
import { AuthFailureLimiter } from '../clients/auth-failure-limiter';
import { TokenReadHook } from './token-read.hook';

/*
 * GET /api/v1/accounts/:appId/token is a Nest controller route whose own onRequest hook (TokenReadHook) answers
 * the common case from memory; everything else reaches the controller. Both ways must give the same answers.
 */

const APP_ID = 'wxfastread00000001';
const KEY = 'fast-read-key-0000000000000001';
/** Used only by the tests of the answer from memory, so that it is new to the hook there. */
const SECOND_KEY = 'fast-read-key-0000000000000002';
interface Answer {
  status: number;
  contentType: string;
  body: unknown;
  requestId?: string;
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('GET /api/v1/accounts/:appId/token (TokenReadHook + controller)', () => {
  let app: NestFastifyApplication;
  let base: string;
  let answered: boolean[];
  let running: InProcessApp;

  beforeAll(async () => {
    running = await startInProcessApp(
      AppModule,
      {
        WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP_ID, appSecret: 'fastreadsecret0000000001' }]),
        WECHAT_SANDBOX: 'false',
        // nothing listens there: no token can be had until a test provides one
        WECHAT_API_BASE_URL: 'http://127.0.0.1:9',
        LOG_LEVEL: 'fatal',
        ADMIN_API_KEYS: `${KEY},${SECOND_KEY}`,
      },
      TokenReadHook,
    );
    ({ app, base, answered } = running);
  });

  afterAll(async () => {
    await running?.close();
  });

  beforeEach(() => {
    answered.length = 0;
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

  it('serves the token through the controller when it is not in memory, the same answer as from memory', async () => {
    const tokens = app.get(TokenService, { strict: false });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const token = { value: 'TOKEN_VALUE', version: 7, expiresAt };
    const getToken = jest.spyOn(tokens, 'getToken').mockResolvedValue(token);
    const path = `/api/v1/accounts/${APP_ID}/token`;

    const controller = await overHttp(path, `Bearer ${KEY}`);
    expect(answered).toEqual([false]);
    expect(getToken).toHaveBeenCalledTimes(1);
    const cached = jest.spyOn(tokens, 'cachedToken').mockReturnValue(token);
    const fromMemory = await overHttp(path, `Bearer ${KEY}`);
    expect(answered).toEqual([false, true]);
    expect(getToken).toHaveBeenCalledTimes(1);

    expect(controller).toEqual({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      body: {
        access_token: 'TOKEN_VALUE',
        expires_in: expect.any(Number),
        expires_at: expiresAt.toISOString(),
        version: 7,
      },
    });
    expect(fromMemory).toEqual({
      ...controller,
      body: { ...(controller.body as object), expires_in: expect.any(Number) },
    });
    getToken.mockRestore();
    cached.mockRestore();
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
  ])('answers $name with $status through the controller', async ({ authorization, appId, status }) => {
    const path = `/api/v1/accounts/${appId}/token`;
    const http = await overHttp(path, authorization);
    expect(answered).toEqual([false]);
    expect(http.status).toBe(status);
    expect(http.body).toMatchObject({ statusCode: status, message: expect.any(String) });
    expect(await injected(path, authorization)).toEqual(http);
  });

  describe('the answer from memory (a key already verified, the token in memory)', () => {
    const path = `/api/v1/accounts/${APP_ID}/token`;
    let tokens: TokenService;
    let current: AccessToken;

    const limiter = (): AuthFailureLimiter => app.get(AuthFailureLimiter, { strict: false });

    beforeAll(() => {
      tokens = app.get(TokenService, { strict: false });
    });

    beforeEach(() => {
      current = { value: 'IN_MEMORY_TOKEN', version: 11, expiresAt: new Date(Date.now() + 3_600_500) };
      jest.spyOn(tokens, 'cachedToken').mockImplementation(() => current);
    });

    afterEach(() => {
      // one by one: startInProcessApp's recorder is a spy too
      for (const spy of [tokens.cachedToken, tokens.getToken, limiter().peek, limiter().check]) {
        if (jest.isMockFunction(spy)) spy.mockRestore();
      }
    });

    it('answers a verified key from memory without getToken, as the controller answers', async () => {
      // the controller's getToken answers the same in-memory token (its own read path does not go through the spy)
      const getToken = jest.spyOn(tokens, 'getToken').mockImplementation(async () => current);

      // a key the hook has not seen verified yet goes to the controller (guard, then getToken)
      const first = await overHttp(path, `Bearer ${SECOND_KEY}`, 'first-read');
      expect(getToken).toHaveBeenCalledTimes(1);
      // from then on it is answered from memory
      const second = await overHttp(path, `Bearer ${SECOND_KEY}`, 'second-read');
      const third = await overHttp(path, `Bearer ${SECOND_KEY}`);
      expect(getToken).toHaveBeenCalledTimes(1);
      expect(answered).toEqual([false, true, true]);

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

      jest.spyOn(limiter(), 'peek').mockReturnValue({ blocked: true, retryAfterSeconds: 30 });
      jest.spyOn(limiter(), 'check').mockReturnValue({ blocked: true, retryAfterSeconds: 30 });
      answered.length = 0;
      const blocked = await overHttp(path, `Bearer ${SECOND_KEY}`);
      expect(answered).toEqual([false]);
      expect(blocked.status).toBe(429);
      expect(blocked.body).toMatchObject({ statusCode: 429 });
    });

    it('goes on to the controller when the token is not in memory', async () => {
      await overHttp(path, `Bearer ${SECOND_KEY}`);
      jest.spyOn(tokens, 'cachedToken').mockReturnValue(undefined);
      const getToken = jest
        .spyOn(tokens, 'getToken')
        .mockResolvedValue({ value: 'FROM_THE_STORE', version: 13, expiresAt: current.expiresAt });
      answered.length = 0;

      const answer = await overHttp(path, `Bearer ${SECOND_KEY}`);
      expect(answered).toEqual([false]);
      expect(getToken).toHaveBeenCalledTimes(1);
      expect(answer.body).toMatchObject({ access_token: 'FROM_THE_STORE', version: 13 });
    });
  });

  it('is the hook of this route only', async () => {
    const post = await fetch(`${base}/api/v1/accounts/${APP_ID}/token`, { method: 'POST' });
    const other = await fetch(`${base}/api/v1/accounts/${APP_ID}/token/extra`);
    const list = await fetch(`${base}/api/v1/accounts`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(answered).toEqual([]);
    expect(post.status).toBe(404);
    expect(other.status).toBe(404);
    expect(list.status).toBe(200);
  });
});
