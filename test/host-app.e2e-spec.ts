import { Controller, Get, Injectable, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, createApp, TokenModule, TokenService, WechatSimulator } from '../src/index';
import { Test } from '@nestjs/testing';

const APP_ID = 'wxhostapp000000001';
const SECRET = 'hostappsecret0000000000000000001';

@Injectable()
class MenuPublisher {
  constructor(readonly tokens: TokenService) {}

  async tokenForPublishing(): Promise<string> {
    return this.tokens.getAccessToken(APP_ID);
  }
}

@Controller('host')
class HostController {
  constructor(private readonly publisher: MenuPublisher) {}

  @Get('token')
  async token(): Promise<{ token: string }> {
    return { token: await this.publisher.tokenForPublishing() };
  }
}

@Module({ imports: [AppModule], controllers: [HostController], providers: [MenuPublisher] })
class HostModule {}

describe('wxhub as a library', () => {
  let sim: WechatSimulator;
  let simUrl: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    sim = new WechatSimulator({ apps: [{ appId: APP_ID, appSecret: SECRET }] });
    simUrl = await sim.listen();
  });

  afterAll(async () => {
    process.env = saved;
    await sim.close();
  });

  it('a host app imports AppModule, injects TokenService into its own provider and runs through createApp', async () => {
    process.env = {
      ...saved,
      NODE_ENV: 'test',
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP_ID, appSecret: SECRET }]),
      WECHAT_API_BASE_URL: simUrl,
      LOG_LEVEL: 'error',
    };
    const app: NestFastifyApplication = await createApp(HostModule);
    await app.listen(0, '127.0.0.1');
    try {
      const url = await app.getUrl();
      const response = await fetch(`${url.replace('[::1]', '127.0.0.1')}/host/token`);
      const body = (await response.json()) as { token: string };
      expect(response.status).toBe(200);
      expect(sim.checkToken(APP_ID, body.token)).toBe('valid');
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(sim.stats().byApp[APP_ID]!.stableToken).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('TokenModule.forRootAsync alone serves TokenService to a host module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TokenModule.forRootAsync({
          useFactory: async () => ({
            accounts: [{ appId: APP_ID, appSecret: SECRET, messageMode: 'plain', tokenEndpoint: 'legacy' }],
            apiBaseUrl: simUrl,
          }),
        }),
      ],
      providers: [MenuPublisher],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    try {
      const token = await moduleRef.get(MenuPublisher).tokenForPublishing();
      expect(sim.checkToken(APP_ID, token)).toBe('valid');
      expect(sim.stats().byApp[APP_ID]!.token).toBeGreaterThanOrEqual(1);
    } finally {
      await moduleRef.close();
    }
  });
});
