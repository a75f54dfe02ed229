import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module';
import { createApp } from '../create-app';
import { TokenService } from '../token/token.service';
import { AccountsController } from './accounts.controller';
import { TokenReadFastPath } from './token-read.fast-path';

/*
 * createApp answers GET /api/v1/accounts/:appId/token from a Fastify hook, ahead of Nest's guards and pipes. The
 * controller route stays for the documentation and for apps without the hook; both must answer alike.
 */

const APP_ID = 'wxfastread00000001';
const KEY = 'fast-read-key-0000000000000001';
const ENV_KEYS = ['WECHAT_ACCOUNTS', 'WECHAT_SANDBOX', 'WECHAT_API_BASE_URL', 'LOG_LEVEL', 'ADMIN_API_KEYS'];

describe('TokenReadFastPath (createApp)', () => {
  let app: NestFastifyApplication;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const key of ENV_KEYS) saved[key] = process.env[key];
    process.env.WECHAT_ACCOUNTS = JSON.stringify([{ appId: APP_ID, appSecret: 'fastreadsecret0000000001' }]);
    process.env.WECHAT_SANDBOX = 'false';
    process.env.WECHAT_API_BASE_URL = 'http://127.0.0.1:9';
    process.env.LOG_LEVEL = 'fatal';
    process.env.ADMIN_API_KEYS = KEY;
    app = await createApp(AppModule);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    for (const key of ENV_KEYS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it('serves the token from the hook; the controller method is not called', async () => {
    const tokens = app.get(TokenService, { strict: false });
    const expiresAt = new Date(Date.now() + 3_600_000);
    jest.spyOn(tokens, 'getToken').mockResolvedValue({ value: 'TOKEN_VALUE', version: 7, expiresAt });
    const hook = jest.spyOn(TokenReadFastPath.prototype as never, 'answer' as never);
    const controller = jest.spyOn(AccountsController.prototype, 'token');

    const response = await app.inject({
      method: 'GET',
      url: `/api/v1/accounts/${APP_ID}/token`,
      headers: { authorization: `Bearer ${KEY}` },
    });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      access_token: 'TOKEN_VALUE',
      expires_in: expect.any(Number),
      expires_at: expiresAt.toISOString(),
      version: 7,
    });
    expect(hook).toHaveBeenCalledTimes(1);
    expect(controller).not.toHaveBeenCalled();
    jest.restoreAllMocks();
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
  ])('answers $name like every admin route: $status, as JSON', async ({ authorization, appId, status }) => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/v1/accounts/${appId}/token`,
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ statusCode: status, message: expect.any(String) });
  });

  it('answers 503 when no token can be had', async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/v1/accounts/${APP_ID}/token`,
      headers: { authorization: `Bearer ${KEY}` },
    });
    // WeChat is unreachable here (nothing listens on the API base URL)
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });
});
