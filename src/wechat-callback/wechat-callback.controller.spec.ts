import { Injectable, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module';
import { startInProcessApp, type InProcessApp } from '../../test/support/in-process-app';
import { openReply, pushXml, signPush, type PushTarget } from '../sandbox/push-builder';
import { OnWechatMessage } from './wechat-callback.decorators';
import type { WechatMessage } from './wechat-message';

/*
 * WeChat's pushes reach WechatCallbackController through an app built by createApp (raw XML bodies, the 64 KB
 * limit, the exception filter). Every request below is sent over real HTTP and through `inject()`, and must get
 * the same answer both ways.
 */

const PLAIN: PushTarget & { appSecret: string } = {
  appId: 'wxcbplain000000001',
  appSecret: 'cbplainsecret00000000001',
  token: 'cbPlainToken',
};
const SAFE: PushTarget & { appSecret: string; encodingAESKey: string } = {
  appId: 'wxcbsafe0000000001',
  appSecret: 'cbsafesecret000000000001',
  token: 'cbSafeToken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};

@Injectable()
class EchoHandlers {
  @OnWechatMessage('text')
  echo(message: WechatMessage): string {
    return `echo: ${String(message.Content)}`;
  }
}

@Module({ imports: [AppModule], providers: [EchoHandlers] })
class HostModule {}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

describe('WechatCallbackController (createApp)', () => {
  let app: NestFastifyApplication;
  let base: string;
  let running: InProcessApp;

  beforeAll(async () => {
    running = await startInProcessApp(HostModule, {
      WECHAT_ACCOUNTS: JSON.stringify([
        { appId: PLAIN.appId, appSecret: PLAIN.appSecret, token: PLAIN.token, messageMode: 'plain' },
        {
          appId: SAFE.appId,
          appSecret: SAFE.appSecret,
          token: SAFE.token,
          encodingAESKey: SAFE.encodingAESKey,
          messageMode: 'safe',
        },
      ]),
      WECHAT_SANDBOX: 'false',
      // nothing listens there: token refreshes fail quietly, which callbacks without late replies never notice
      WECHAT_API_BASE_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'fatal',
    });
    ({ app, base } = running);
  });

  afterAll(async () => {
    await running?.close();
  });

  async function overHttp(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<Answer> {
    const response = await fetch(base + path, {
      method,
      body,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.text(),
    };
  }

  async function injected(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<Answer> {
    const response = await app.inject({
      method: method as 'GET' | 'POST',
      url: path,
      payload: body,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
    });
    return {
      status: response.statusCode,
      contentType: String(response.headers['content-type'] ?? ''),
      body: response.body,
    };
  }

  function path(appId: string, query: Record<string, string>): string {
    return `/wechat/${appId}?${new URLSearchParams(query).toString()}`;
  }

  /** The same request both ways. */
  async function both(method: string, url: string, body?: string, contentType?: string): Promise<Answer> {
    const fast = await overHttp(method, url, body, contentType);
    const framework = await injected(method, url, body, contentType);
    expect(fast).toEqual(framework);
    return fast;
  }

  it('answers the URL check with echostr as plain text', async () => {
    const { query } = signPush(PLAIN, pushXml({ text: 'x' }));
    const answer = await both('GET', path(PLAIN.appId, { ...query, echostr: 'echo-4711' }));
    expect(answer).toEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'echo-4711' });
  });

  it('routes a signed text push to its handler and replies with the same XML over HTTP and inject()', async () => {
    const createTime = Math.floor(Date.now() / 1000);
    const first = signPush(PLAIN, pushXml({ text: 'hello route', msgId: '910000000001', createTime }));
    const fast = await overHttp('POST', path(PLAIN.appId, first.query), first.body, 'text/xml');
    const second = signPush(PLAIN, pushXml({ text: 'hello route', msgId: '910000000002', createTime }));
    const framework = await injected('POST', path(PLAIN.appId, second.query), second.body, 'text/xml');
    const normalise = (answer: Answer): Answer => ({
      ...answer,
      body: answer.body.replace(/<CreateTime>\d+<\/CreateTime>/, '<CreateTime/>'),
    });
    expect(fast.status).toBe(200);
    expect(fast.contentType).toBe('application/xml; charset=utf-8');
    expect(fast.body).toContain('<Content><![CDATA[echo: hello route]]></Content>');
    expect(normalise(fast)).toEqual(normalise(framework));
  });

  it('answers a retry of a handled push from the de-duplication record', async () => {
    const push = signPush(PLAIN, pushXml({ text: 'once', msgId: '910000000003' }));
    const url = path(PLAIN.appId, push.query);
    const first = await overHttp('POST', url, push.body, 'text/xml');
    const retry = await injected('POST', url, push.body, 'text/xml');
    expect(retry).toEqual(first);
  });

  it('decrypts a safe-mode push and answers an encrypted reply', async () => {
    const push = signPush(
      { ...SAFE, encrypt: true },
      pushXml({ text: 'secret hello', msgId: '910000000004' }),
    );
    const answer = await overHttp('POST', path(SAFE.appId, push.query), push.body, 'text/xml');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('<Encrypt>');
    expect(openReply(SAFE, answer.body)).toContain('<Content><![CDATA[echo: secret hello]]></Content>');
  });

  it('answers "success" when no handler matches', async () => {
    const push = signPush(PLAIN, pushXml({ event: 'VIEW', eventKey: 'https://example.com' }));
    const answer = await both('POST', path(PLAIN.appId, push.query), push.body, 'text/xml');
    expect(answer).toEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' });
  });

  describe('refuses bad input with the answers of the exception filter', () => {
    const good = (): ReturnType<typeof signPush> => signPush(PLAIN, pushXml({ text: 'bad input' }));

    it.each([
      [
        'a wrong signature',
        401,
        () => ({ ...good(), query: { ...good().query, signature: 'f'.repeat(40) } }),
      ],
      ['no signature', 401, () => ({ ...good(), query: { timestamp: '1', nonce: '2' } })],
      [
        'a stale timestamp',
        401,
        () =>
          signPush(
            { ...PLAIN, timestamp: String(Math.floor(Date.now() / 1000) - 3600) },
            pushXml({ text: 'x' }),
          ),
      ],
      ['malformed XML', 400, () => ({ ...good(), body: '<xml><Content>unclosed</xml>' })],
      ['a DOCTYPE', 400, () => ({ ...good(), body: '<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>' })],
      ['a plaintext push to a safe account', 400, () => signPush(SAFE, pushXml({ text: 'x' }))],
    ])('%s → %d', async (_name, status, build) => {
      const push = build();
      const appId = _name.includes('safe account') ? SAFE.appId : PLAIN.appId;
      const answer = await both('POST', path(appId, push.query), push.body, 'text/xml');
      expect(answer.status).toBe(status);
      expect(answer.contentType).toBe('application/json; charset=utf-8');
      expect(JSON.parse(answer.body)).toMatchObject({ statusCode: status, message: expect.any(String) });
    });

    it('a JSON body → 400', async () => {
      const push = good();
      const answer = await both('POST', path(PLAIN.appId, push.query), '{"a":1}', 'application/json');
      expect(answer.status).toBe(400);
    });

    it('an empty body → 400', async () => {
      const push = good();
      const answer = await both('POST', path(PLAIN.appId, push.query), '', 'text/xml');
      expect(answer.status).toBe(400);
    });

    it('an unknown account → 404', async () => {
      const push = good();
      const answer = await both('POST', path('wxnotconfigured001', push.query), push.body, 'text/xml');
      expect(answer.status).toBe(404);
    });

    it('a body over 64 KB → 413, without reading it', async () => {
      const push = good();
      const big = `<xml><Content><![CDATA[${'x'.repeat(70 * 1024)}]]></Content></xml>`;
      const fast = await overHttp('POST', path(PLAIN.appId, push.query), big, 'text/xml');
      const framework = await injected('POST', path(PLAIN.appId, push.query), big, 'text/xml');
      expect(fast.status).toBe(413);
      expect(framework.status).toBe(413);
      expect(JSON.parse(fast.body)).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    });
  });

  it('serves GET and POST of /wechat/:appId only', async () => {
    const put = await overHttp('PUT', `/wechat/${PLAIN.appId}`, 'x', 'text/xml');
    const nested = await overHttp('GET', `/wechat/${PLAIN.appId}/extra`);
    expect(put.status).toBe(404);
    expect(nested.status).toBe(404);
  });
});
