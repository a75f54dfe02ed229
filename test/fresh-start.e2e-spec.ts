import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  SANDBOX_ADMIN_KEY,
  SANDBOX_DEMO_ACCOUNT,
  SANDBOX_DEMO_MINI_PROGRAM,
} from '../src/sandbox/sandbox.constants';
import { getJson, postJson } from './support/http';
import { type ChildExit, repoRoot, spawnNode, startHub } from './support/processes';

/*
 * The README promise: `npm start` on a fresh machine, with nothing configured, runs a working hub (sandbox
 * mode); in production the same empty configuration refuses to start.
 */

interface HealthBody {
  status: string;
  accounts: Record<string, string>;
}

interface TokenBody {
  access_token: string;
  expires_in: number;
}

const { appId, appSecret } = SANDBOX_DEMO_ACCOUNT;
const miniProgram = SANDBOX_DEMO_MINI_PROGRAM.appId;

describe('a hub started with an empty environment', () => {
  let url: string;
  let output: readonly string[];

  beforeAll(async () => {
    // startHub adds only PORT to PATH and HOME: no WECHAT_*, no REDIS_URL, no ADMIN_API_KEYS, no NODE_ENV
    ({ url, output } = await startHub({}, { name: 'hub-fresh' }));
  });

  it('is healthy with the sandbox demo account and demo Mini Program live', async () => {
    // the demo tokens are fetched from the built-in simulator at boot; until then the accounts are refreshing
    let health = await getJson<HealthBody>(`${url}/health`, {
      headers: { authorization: `Bearer ${SANDBOX_ADMIN_KEY}` },
    });
    for (
      const deadline = Date.now() + 10_000;
      (health.body.accounts?.[appId] !== 'live' || health.body.accounts?.[miniProgram] !== 'live') &&
      Date.now() < deadline;
    ) {
      await delay(100);
      health = await getJson<HealthBody>(`${url}/health`, {
        headers: { authorization: `Bearer ${SANDBOX_ADMIN_KEY}` },
      });
    }

    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect(health.body.accounts).toEqual({ [appId]: 'live', [miniProgram]: 'live' });
  });

  it('lets the demo admin key read a token that its own /cgi-bin endpoints also answer', async () => {
    const admin = await getJson<TokenBody>(`${url}/api/v1/accounts/${appId}/token`, {
      headers: { authorization: `Bearer ${SANDBOX_ADMIN_KEY}` },
    });
    const query = new URLSearchParams({ grant_type: 'client_credential', appid: appId, secret: appSecret });
    const legacy = await getJson<TokenBody>(`${url}/cgi-bin/token?${query}`);
    const stable = await postJson<TokenBody>(`${url}/cgi-bin/stable_token`, {
      grant_type: 'client_credential',
      appid: appId,
      secret: appSecret,
    });

    expect(admin.status).toBe(200);
    expect(admin.body.access_token).toEqual(expect.any(String));
    expect(admin.body.access_token.length).toBeGreaterThan(20);
    expect(legacy.body).toEqual({ access_token: admin.body.access_token, expires_in: expect.any(Number) });
    expect(stable.body).toEqual({ access_token: admin.body.access_token, expires_in: expect.any(Number) });
  });

  it('logs a demo Mini Program user in as its banner shows: a code from the simulator, then code2session', async () => {
    const banner = output.join('\n');
    const mint = /curl -X POST .* (http:\/\/127\.0\.0\.1:\d+\/sandbox\/wxa\/login-code)/.exec(banner)?.[1];
    expect(mint).toBeDefined();
    expect(banner).toContain(`${url}/api/v1/accounts/${miniProgram}/code2session`);
    const minted = await postJson<{ code: string; openid: string }>(mint as string, { appid: miniProgram });

    const session = await postJson<{ openid: string; session_key: string }>(
      `${url}/api/v1/accounts/${miniProgram}/code2session`,
      { js_code: minted.body.code },
      { headers: { authorization: `Bearer ${SANDBOX_ADMIN_KEY}` } },
    );

    expect(session.status).toBe(200);
    expect(session.body).toEqual({ openid: minted.body.openid, session_key: expect.any(String) });
  });

  it('refuses the admin API without the demo key', async () => {
    const reply = await getJson<{ statusCode: number }>(`${url}/api/v1/accounts/${appId}/token`, {
      headers: { authorization: 'Bearer not-the-sandbox-admin-key' },
    });

    expect(reply.status).toBe(401);
    expect(reply.body.statusCode).toBe(401);
  });
});

describe('a hub started with only NODE_ENV=production', () => {
  it('exits non-zero with a message naming WECHAT_ACCOUNTS', async () => {
    // readiness = the refusal line; a hub that started instead would time out here with its output shown
    const child = await spawnNode(resolve(repoRoot, 'dist/main.js'), {
      name: 'hub-production',
      env: { NODE_ENV: 'production' },
      readyWhen: /WECHAT_ACCOUNTS/,
      timeoutMs: 15_000,
    });
    const exit = await Promise.race<ChildExit | 'still running'>([
      child.exited,
      delay(10_000, 'still running' as const, { ref: false }),
    ]);

    expect(exit).toEqual({ code: expect.any(Number), signal: null });
    expect((exit as ChildExit).code).not.toBe(0);
    expect(child.output.join('\n')).toMatch(/WECHAT_ACCOUNTS/);
    expect(child.output.some((line) => /listening on/.test(line))).toBe(false);
  });
});
