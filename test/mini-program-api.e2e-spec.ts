import { randomBytes } from 'node:crypto';
import { getJson, postJson, type HttpResponse } from './support/http';
import { type ChildHandle, startHub, startSimulator, terminate } from './support/processes';

/*
 * Mini Programs through a real hub (dist/main.js, LOG_LEVEL=trace) and a real simulator process: the code exchanges
 * that need the AppSecret (code2session, OAuth), a phone number and a wxacode image through the gateway, and a grep
 * of the hub's whole output for every code, session_key and user token the simulator handed out.
 */

const MP = { appId: 'wxe2eminiprogram01', appSecret: randomBytes(16).toString('hex') };
const OA = { appId: 'wxe2eofficialacc01', appSecret: randomBytes(16).toString('hex') };
const KEY = `mpkey-${randomBytes(12).toString('hex')}`;
const AUTH = { authorization: `Bearer ${KEY}` };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Json = Record<string, unknown>;

let simulator: ChildHandle & { url: string };
let hub: ChildHandle & { url: string; port: number };

jest.setTimeout(60_000);

beforeAll(async () => {
  simulator = await startSimulator({
    SANDBOX_APPS: JSON.stringify([
      { ...MP, kind: 'miniProgram' },
      { ...OA, kind: 'officialAccount' },
    ]),
  });
  hub = await startHub({
    NODE_ENV: 'production',
    LOG_LEVEL: 'trace',
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS: JSON.stringify([
      { ...MP, kind: 'miniProgram', messageFormat: 'json' },
      { ...OA, kind: 'officialAccount' },
    ]),
    ADMIN_API_KEYS: KEY,
  });
}, 90_000);

afterAll(async () => {
  if (hub) await terminate(hub);
  if (simulator) await terminate(simulator);
});

async function loginCode(openid?: string, risky = false): Promise<string> {
  const minted = await postJson<{ code: string }>(`${simulator.url}/sandbox/wxa/login-code`, {
    appid: MP.appId,
    openid,
    risky,
  });
  expect(minted.status).toBe(200);
  return minted.body.code;
}

function code2session(
  body: unknown,
  appId = MP.appId,
  headers: Record<string, string> = AUTH,
): Promise<HttpResponse<Json>> {
  return postJson<Json>(`${hub.url}/api/v1/accounts/${appId}/code2session`, body, { headers });
}

describe('code2session through the hub', () => {
  it('answers openid and session_key for a login code, never cached', async () => {
    const code = await loginCode('o_e2e_user_1');

    const answer = await code2session({ js_code: code });

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ openid: 'o_e2e_user_1', session_key: expect.any(String) });
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it("keeps WeChat's errcode: 40029 invalid and 40163 used codes are 400s", async () => {
    const code = await loginCode();
    expect((await code2session({ js_code: code })).status).toBe(200);

    const used = await code2session({ js_code: code });
    const invalid = await code2session({ js_code: 'not-a-code' });

    expect(used.status).toBe(400);
    expect(used.body).toMatchObject({ statusCode: 400, error: 'Bad Request', errcode: 40163 });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ statusCode: 400, errcode: 40029, errmsg: 'invalid code' });
    expect(invalid.headers['cache-control']).toBe('no-store');
    expect(JSON.stringify(used.body)).not.toContain(code);
  });

  it('answers 503 with Retry-After when WeChat is busy, and the code still works after', async () => {
    const code = await loginCode();
    await postJson(`${simulator.url}/sandbox/faults`, {
      kind: 'busy',
      paths: ['/sns/jscode2session'],
      times: 1,
    });

    const busy = await code2session({ js_code: code });

    expect(busy.status).toBe(503);
    expect(busy.body).toMatchObject({ statusCode: 503, errcode: -1 });
    expect(busy.headers['retry-after']).toBeDefined();
    expect((await code2session({ js_code: code })).status).toBe(200);
  });

  it('answers 403 for a user WeChat deems risky (40226) and 429 past 100 logins of one user a minute (45011)', async () => {
    const risky = await code2session({ js_code: await loginCode('o_e2e_risky', true) });
    expect(risky.status).toBe(403);
    expect(risky.body).toMatchObject({ statusCode: 403, errcode: 40226 });

    for (let i = 0; i < 100; i++) {
      expect((await code2session({ js_code: await loginCode('o_e2e_busy_user') })).status).toBe(200);
    }
    const limited = await code2session({ js_code: await loginCode('o_e2e_busy_user') });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, errcode: 45011 });
    expect(limited.headers['retry-after']).toBe('60');
  });

  it('refuses a bad body (400), an Official Account (400), an unknown account (404) and a missing key (401)', async () => {
    const missing = await code2session({});
    const extra = await code2session({ js_code: 'x', secret: 'y' });
    const official = await code2session({ js_code: 'x' }, OA.appId);
    const unknown = await code2session({ js_code: 'x' }, 'wx0000000unknown01');
    const anonymous = await code2session({ js_code: 'x' }, MP.appId, {});

    expect([missing.status, extra.status, official.status, unknown.status, anonymous.status]).toEqual([
      400, 400, 400, 404, 401,
    ]);
    expect((missing.body as { message: string }).message).toContain('js_code');
    expect((official.body as { message: string }).message).toMatch(/Official Account.*kind: miniProgram/);
  });
});

describe('the OAuth code exchange through the hub', () => {
  it("answers WeChat's web token for an Official Account's code, and 400 with errcode for a used one", async () => {
    const minted = await postJson<{ code: string; openid: string }>(`${simulator.url}/sandbox/oauth/code`, {
      appid: OA.appId,
      scope: 'snsapi_base',
    });
    const url = `${hub.url}/api/v1/accounts/${OA.appId}/oauth/access-token`;

    const answer = await postJson<Json>(url, { code: minted.body.code }, { headers: AUTH });
    const again = await postJson<Json>(url, { code: minted.body.code }, { headers: AUTH });

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      access_token: expect.any(String),
      expires_in: expect.any(Number),
      refresh_token: expect.any(String),
      openid: minted.body.openid,
      scope: 'snsapi_base',
    });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ errcode: 40163 });
    // a Mini Program has no web authorization
    expect(
      (
        await postJson(
          `${hub.url}/api/v1/accounts/${MP.appId}/oauth/access-token`,
          { code: 'x' },
          { headers: AUTH },
        )
      ).status,
    ).toBe(400);
  });
});

describe('Mini Program server APIs through the gateway', () => {
  it('reads a phone number with the hub-injected token', async () => {
    const minted = await postJson<{ code: string }>(`${simulator.url}/sandbox/wxa/phone-code`, {
      appid: MP.appId,
      phoneNumber: '13900001111',
    });

    const answer = await postJson<{ errcode: number; phone_info: Json }>(
      `${hub.url}/gateway/${MP.appId}/wxa/business/getuserphonenumber`,
      { code: minted.body.code },
      { headers: AUTH },
    );

    expect(answer.status).toBe(200);
    expect(answer.body.phone_info).toMatchObject({ phoneNumber: '13900001111', countryCode: '86' });
  });

  it('hands back a wxacode as image bytes', async () => {
    const response = await fetch(`${hub.url}/gateway/${MP.appId}/wxa/getwxacodeunlimit`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ scene: 'order=42', width: 280 }),
    });
    const bytes = Buffer.from(await response.arrayBuffer());

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });
});

describe('the account list', () => {
  it('shows each account its kind', async () => {
    const list = await getJson<{ accounts: { appId: string; kind: string }[] }>(
      `${hub.url}/api/v1/accounts`,
      {
        headers: AUTH,
      },
    );

    expect(list.body.accounts.map(({ appId, kind }) => ({ appId, kind }))).toEqual([
      { appId: MP.appId, kind: 'miniProgram' },
      { appId: OA.appId, kind: 'officialAccount' },
    ]);
  });
});

describe("the hub's output at LOG_LEVEL=trace", () => {
  it('holds no code, session_key, user token or AppSecret the exchanges carried, nor do the metrics', async () => {
    // every line of the answered requests is out (a hub writes a turn's lines when the turn ends)
    await new Promise((resolve) => setTimeout(resolve, 300));
    const issued = await getJson<{ codes: string[]; webTokens: string[]; sessionKeys: string[] }>(
      `${simulator.url}/sandbox/tickets/issued`,
    );
    const secrets = [
      ...issued.body.codes,
      ...issued.body.webTokens,
      ...issued.body.sessionKeys,
      MP.appSecret,
      OA.appSecret,
    ];
    // the scenarios above ran: login and phone codes, an OAuth code and its tokens, session keys
    expect(issued.body.codes.length).toBe(107);
    expect(issued.body.sessionKeys.length).toBe(103);
    expect(issued.body.webTokens.length).toBe(2);
    // trace level did log the exchange requests, so the grep has something to search
    expect(hub.output.some((line) => line.includes('/code2session'))).toBe(true);

    const metrics = await getJson<string>(`${hub.url}/metrics`);
    expect(metrics.status).toBe(200);
    const leaked = [...hub.output, metrics.body].flatMap((line) =>
      secrets.filter((secret) => line.includes(secret)).map((secret) => `${secret} in ${line.slice(0, 200)}`),
    );
    expect(leaked).toEqual([]);
  });
});
