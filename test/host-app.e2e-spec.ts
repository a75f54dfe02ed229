import { type CanActivate, Controller, type ExecutionContext, Get, Injectable, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  AppModule,
  createApp,
  OnWechatMessage,
  pushXml,
  sha1Signature,
  signPush,
  TokenModule,
  TokenService,
  WechatSimulator,
} from '../src/index';
import { Test } from '@nestjs/testing';
import { WechatPushHook } from '../src/wechat-callback/wechat-push.hook';

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

@Injectable()
class EchoHandlers {
  @OnWechatMessage('text')
  echo(message: { Content?: string }): string {
    return `echo: ${String(message.Content)}`;
  }
}

@Module({ imports: [AppModule], providers: [EchoHandlers] })
class PrefixedHostModule {}

/** A host's global guard: lets everything pass, and records what it saw. */
class RecordingGuard implements CanActivate {
  readonly seen: string[] = [];

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ method: string; url: string }>();
    this.seen.push(`${request.method} ${request.url.split('?')[0]!}`);
    return true;
  }
}

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

  const CALLBACK_TOKEN = 'hostAppCallbackToken';

  /** A host's environment: the simulator as WeChat, the one account (with the callback token), `extra` on top. */
  function hostEnvironment(extra: Record<string, string> = {}): void {
    process.env = {
      ...saved,
      NODE_ENV: 'test',
      WECHAT_SANDBOX: 'false',
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP_ID, appSecret: SECRET, token: CALLBACK_TOKEN }]),
      WECHAT_API_BASE_URL: simUrl,
      LOG_LEVEL: 'error',
      ...extra,
    };
  }

  /** Listens on a free loopback port; resolves to the base URL. */
  async function listen(app: NestFastifyApplication): Promise<string> {
    await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  }

  /** A signed plaintext push of `text` to the account's callback URL under `base`. */
  async function sendPush(base: string, text: string): Promise<Response> {
    const push = signPush({ appId: APP_ID, token: CALLBACK_TOKEN }, pushXml({ text }));
    return fetch(`${base}/wechat/${APP_ID}?${new URLSearchParams(push.query)}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: push.body,
    });
  }

  it('a host app imports AppModule, injects TokenService into its own provider and runs through createApp', async () => {
    hostEnvironment();
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

  it('a host app that sets a global prefix and adds an onRequest hook sees every wxhub route under it and through it', async () => {
    const key = 'host-app-admin-key-000000000001';
    hostEnvironment({ ADMIN_API_KEYS: key });
    const app: NestFastifyApplication = await createApp(PrefixedHostModule);
    app.setGlobalPrefix('hub');
    const seen: string[] = [];
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', (request, reply, done) => {
        seen.push(`${request.method} ${request.url.split('?')[0]!}`);
        void reply.header('x-host-hook', 'seen');
        done();
      });
    await app.listen(0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      const auth = { authorization: `Bearer ${key}` };
      const answers: Record<string, { status: number; hook: string | null; body: string }> = {};
      const call = async (name: string, path: string, init: RequestInit = {}): Promise<string> => {
        const response = await fetch(base + path, init);
        const body = await response.text();
        answers[name] = { status: response.status, hook: response.headers.get('x-host-hook'), body };
        return body;
      };
      const tokenPath = `/hub/api/v1/accounts/${APP_ID}/token`;
      // the first read goes through the guard and controller, the second is answered from memory by the route's hook
      const getToken = jest.spyOn(app.get(TokenService, { strict: false }), 'getToken');
      await call('token read', tokenPath, { headers: auth });
      const token = (
        JSON.parse(await call('token read from memory', tokenPath, { headers: auth })) as {
          access_token: string;
        }
      ).access_token;
      expect(getToken).toHaveBeenCalledTimes(1);
      getToken.mockRestore();
      const timestamp = String(Math.floor(Date.now() / 1000));
      await call(
        'callback URL check',
        `/hub/wechat/${APP_ID}?${new URLSearchParams({
          signature: sha1Signature(CALLBACK_TOKEN, timestamp, '7'),
          timestamp,
          nonce: '7',
          echostr: 'echo-host',
        })}`,
      );
      const push = signPush({ appId: APP_ID, token: CALLBACK_TOKEN }, pushXml({ text: 'hello host' }));
      await call('callback push', `/hub/wechat/${APP_ID}?${new URLSearchParams(push.query)}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: push.body,
      });
      await call('gateway', `/hub/gateway/${APP_ID}/cgi-bin/getcallbackip`, { headers: auth });
      await call('pass-through', `/hub/cgi-bin/getcallbackip?access_token=${token}`);
      await call(
        'drop-in',
        `/hub/cgi-bin/token?grant_type=client_credential&appid=${APP_ID}&secret=${SECRET}`,
      );
      await call('health', '/hub/health');
      const unprefixed = await fetch(`${base}/api/v1/accounts/${APP_ID}/token`, { headers: auth });

      expect(
        Object.fromEntries(Object.entries(answers).map(([name, a]) => [name, [a.status, a.hook]])),
      ).toEqual({
        'token read': [200, 'seen'],
        'token read from memory': [200, 'seen'],
        'callback URL check': [200, 'seen'],
        'callback push': [200, 'seen'],
        gateway: [200, 'seen'],
        'pass-through': [200, 'seen'],
        'drop-in': [200, 'seen'],
        health: [200, 'seen'],
      });
      expect(answers['callback URL check']!.body).toBe('echo-host');
      expect(answers['callback push']!.body).toContain('<Content><![CDATA[echo: hello host]]></Content>');
      expect(JSON.parse(answers.gateway!.body)).toHaveProperty('ip_list');
      expect(JSON.parse(answers['pass-through']!.body)).toHaveProperty('ip_list');
      expect(JSON.parse(answers['drop-in']!.body)).toHaveProperty('access_token', token);
      expect(unprefixed.status).toBe(404);
      expect(seen).toEqual([
        `GET ${tokenPath}`,
        `GET ${tokenPath}`,
        `GET /hub/wechat/${APP_ID}`,
        `POST /hub/wechat/${APP_ID}`,
        `GET /hub/gateway/${APP_ID}/cgi-bin/getcallbackip`,
        'GET /hub/cgi-bin/getcallbackip',
        'GET /hub/cgi-bin/token',
        'GET /hub/health',
        `GET /api/v1/accounts/${APP_ID}/token`,
      ]);
    } finally {
      await app.close();
    }
  });

  it("a host's global guard sees every token read: none is answered before it", async () => {
    const key = 'host-app-admin-key-000000000002';
    hostEnvironment({ ADMIN_API_KEYS: key });
    const app: NestFastifyApplication = await createApp(PrefixedHostModule);
    const guard = new RecordingGuard();
    app.useGlobalGuards(guard);
    const base = await listen(app);
    try {
      const path = `/api/v1/accounts/${APP_ID}/token`;
      const getToken = jest.spyOn(app.get(TokenService, { strict: false }), 'getToken');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await fetch(base + path, { headers: { authorization: `Bearer ${key}` } })).status);
      }
      expect(statuses).toEqual([200, 200, 200]);
      expect(guard.seen).toEqual([`GET ${path}`, `GET ${path}`, `GET ${path}`]);
      expect(getToken).toHaveBeenCalledTimes(3);
    } finally {
      await app.close();
    }
  });

  it('a push is answered the same by the route hook and, for what the hook passes on, by the controller', async () => {
    hostEnvironment();
    const app: NestFastifyApplication = await createApp(PrefixedHostModule);
    const hook = app.get(WechatPushHook, { strict: false }) as unknown as {
      answer(...args: unknown[]): void;
    };
    const answeredByHook = jest.spyOn(hook, 'answer');
    const base = await listen(app);
    try {
      const target = { appId: APP_ID, token: CALLBACK_TOKEN };
      /** One push, sent with its length (the hook's) or chunked, without one (the controller's). */
      const send = async (
        push: { query: Record<string, string>; body: string },
        chunked: boolean,
      ): Promise<[number, string | null, string]> => {
        const body = chunked
          ? new ReadableStream({
              start(controller) {
                controller.enqueue(new TextEncoder().encode(push.body));
                controller.close();
              },
            })
          : push.body;
        const response = await fetch(`${base}/wechat/${APP_ID}?${new URLSearchParams(push.query)}`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml' },
          body,
          ...(chunked ? { duplex: 'half' } : {}),
        } as RequestInit);
        const text = (await response.text()).replace(/<CreateTime>\d+<\/CreateTime>/, '');
        return [response.status, response.headers.get('content-type'), text];
      };
      const cases = {
        reply: (n: number) => signPush(target, pushXml({ text: 'same', msgId: String(9_100 + n) })),
        'wrong signature': (n: number) => ({
          ...signPush(target, pushXml({ text: 'x', msgId: String(9_200 + n) })),
          query: { ...signPush(target, '<xml></xml>').query, signature: 'f'.repeat(40) },
        }),
        'not XML': (n: number) => signPush(target, `<xml><Content>${n}`),
      };
      const answers: Record<string, unknown> = {};
      for (const [name, push] of Object.entries(cases)) {
        answers[name] = { hook: await send(push(0), false), controller: await send(push(1), true) };
      }

      for (const [name, answer] of Object.entries(answers)) {
        const { hook, controller } = answer as { hook: unknown; controller: unknown };
        expect([name, hook]).toEqual([name, controller]);
      }
      expect((answers.reply as { hook: [number, string, string] }).hook[2]).toContain('echo: same');
      expect((answers['wrong signature'] as { hook: [number] }).hook[0]).toBe(401);
      expect((answers['not XML'] as { hook: [number] }).hook[0]).toBe(400);
      // the hook answered the pushes sent with their length, the controller the chunked ones
      expect(answeredByHook).toHaveBeenCalledTimes(3);
    } finally {
      await app.close();
    }
  });

  it("a host's global guard sees every push: none is answered before it", async () => {
    hostEnvironment();
    const app: NestFastifyApplication = await createApp(PrefixedHostModule);
    const guard = new RecordingGuard();
    app.useGlobalGuards(guard);
    const base = await listen(app);
    try {
      const bodies: string[] = [];
      for (const text of ['one', 'two']) bodies.push(await (await sendPush(base, text)).text());
      expect(bodies.map((body) => /<Content><!\[CDATA\[(.*)\]\]><\/Content>/.exec(body)?.[1])).toEqual([
        'echo: one',
        'echo: two',
      ]);
      expect(guard.seen).toEqual([`POST /wechat/${APP_ID}`, `POST /wechat/${APP_ID}`]);
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
