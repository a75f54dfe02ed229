import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SimulatorAppStats, SimulatorStats } from '../src/sandbox/wechat-simulator';
import { getJson, postJson, type HttpResponse } from './support/http';
import { type ChildHandle, outputHas, startHub, startSimulator } from './support/processes';

/*
 * Accounts added, changed and removed at runtime: one real hub (dist/main.js) reading WECHAT_ACCOUNTS_FILE, against
 * one simulator process. The simulator's per-app counters tell every token call the hub made.
 */

type Hub = ChildHandle & { url: string; port: number };
type Simulator = ChildHandle & { url: string };

interface Account {
  appId: string;
  appSecret: string;
  tokenEndpoint: 'stable' | 'legacy';
  token?: string;
}

interface TokenBody {
  access_token: string;
  expires_in: number;
  expires_at: string;
  version: number;
}

interface ReloadBody {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: number;
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

const KEY = `k-${randomBytes(12).toString('hex')}`;
const AUTH = { headers: { authorization: `Bearer ${KEY}` } };
/** How long a change of the file may take to be applied: a 1 s poll, a debounce, and slack for a busy machine. */
const WATCH_TIMEOUT_MS = 5_000;

function account(label: string, settings: Partial<Account> = {}): Account {
  return {
    appId: `wx${label.padEnd(16, '0')}`,
    appSecret: `S${randomBytes(16).toString('hex')}`,
    tokenEndpoint: 'stable',
    ...settings,
  };
}

const KEPT = account('kept');
const READDED = account('readded', { token: 'callbacktoken1' });
const ADDED = account('added');
const SHORT_REMOVED = account('shortremoved');
const SHORT_KEPT = account('shortkept');
const MISTYPED = account('mistyped');

let simulator: Simulator;
let hub: Hub;
let dir: string;
let file: string;
let writes = 0;

function yaml(accounts: Account[]): string {
  return (
    'accounts:\n' +
    accounts
      .map((a) =>
        [
          `  - appId: ${a.appId}`,
          `    appSecret: ${a.appSecret}`,
          `    tokenEndpoint: ${a.tokenEndpoint}`,
          ...(a.token ? [`    token: ${a.token}`] : []),
        ].join('\n'),
      )
      .join('\n') +
    '\n'
  );
}

/** As editors and config-map mounts do: a new file renamed over the old one. */
function replaceFile(text: string): void {
  const temporary = join(dir, `.accounts-${++writes}.tmp`);
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

async function listed(): Promise<string[]> {
  const reply = await getJson<{ accounts: { appId: string }[] }>(`${hub.url}/api/v1/accounts`, AUTH);
  expect(reply.status).toBe(200);
  return reply.body.accounts.map((a) => a.appId).sort();
}

/** Polls the listing until it is exactly `appIds` (the watcher applied the file). */
async function untilListed(appIds: string[]): Promise<void> {
  const expected = [...appIds].sort();
  const deadline = Date.now() + WATCH_TIMEOUT_MS;
  let current = await listed();
  while (JSON.stringify(current) !== JSON.stringify(expected) && Date.now() < deadline) {
    await delay(100);
    current = await listed();
  }
  expect(current).toEqual(expected);
}

function readToken(appId: string): Promise<HttpResponse<TokenBody>> {
  return getJson<TokenBody>(`${hub.url}/api/v1/accounts/${appId}/token`, AUTH);
}

async function appStats(appId: string): Promise<SimulatorAppStats | undefined> {
  return (await getJson<SimulatorStats>(`${simulator.url}/sandbox/stats`)).body.byApp[appId];
}

/** Every token call the hub made for the account (stable_token and the legacy token route). */
async function tokenCalls(appId: string): Promise<number> {
  const stats = await appStats(appId);
  return (stats?.stableToken ?? 0) + (stats?.token ?? 0);
}

async function stateAtWechat(appId: string, accessToken: string): Promise<string> {
  const query = new URLSearchParams({ appid: appId, access_token: accessToken });
  return (await getJson<{ state: string }>(`${simulator.url}/sandbox/tokens/check?${query}`)).body.state;
}

async function addToSimulator(a: Account): Promise<void> {
  const reply = await postJson(`${simulator.url}/sandbox/apps`, { appId: a.appId, appSecret: a.appSecret });
  expect(reply.status).toBe(200);
}

beforeAll(async () => {
  simulator = await startSimulator({
    SANDBOX_APPS: JSON.stringify([KEPT, READDED].map(({ appId, appSecret }) => ({ appId, appSecret }))),
  });
  dir = mkdtempSync(join(tmpdir(), 'wxhub-accounts-'));
  file = join(dir, 'accounts.yaml');
  writeFileSync(file, yaml([KEPT, READDED]));
  hub = await startHub({
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    LOG_LEVEL: 'trace',
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_ACCOUNTS_FILE: file,
    ADMIN_API_KEYS: KEY,
    // below the simulator's overlap, so that short-lived stable tokens really rotate when refreshed
    TOKEN_REFRESH_AHEAD_SECONDS: '4',
  });
  for (const { appId } of [KEPT, READDED]) expect((await readToken(appId)).status).toBe(200);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('accounts reload', () => {
  it('POST /api/v1/accounts/reload without an admin key is refused with 401 and changes nothing', async () => {
    const reply = await postJson<ErrorBody>(`${hub.url}/api/v1/accounts/reload`, {});

    expect(reply.status).toBe(401);
    expect(await listed()).toEqual([KEPT.appId, READDED.appId].sort());
  });

  it('POST /api/v1/accounts/reload of an unchanged file reports every account unchanged', async () => {
    const reply = await postJson<ReloadBody>(`${hub.url}/api/v1/accounts/reload`, {}, AUTH);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ added: [], removed: [], changed: [], unchanged: 2 });
  });

  it('an account added to the file is served without a restart, with one token call fetched at once', async () => {
    await addToSimulator(ADDED);
    replaceFile(yaml([KEPT, READDED, ADDED]));

    await untilListed([KEPT.appId, READDED.appId, ADDED.appId]);
    // the scheduler fetches the new account's token by itself, before anybody asks for it
    const deadline = Date.now() + WATCH_TIMEOUT_MS;
    while ((await tokenCalls(ADDED.appId)) === 0 && Date.now() < deadline) await delay(100);
    expect(await tokenCalls(ADDED.appId)).toBe(1);
    const reply = await readToken(ADDED.appId);

    expect(reply.status).toBe(200);
    expect(await stateAtWechat(ADDED.appId, reply.body.access_token)).toBe('valid');
    expect(await tokenCalls(ADDED.appId)).toBe(1);
    expect(hub.output.some((line) => line.includes(ADDED.appSecret))).toBe(false);
  });

  it('a removed account answers 404 on its routes, and added back it is served the same stored token with no upstream call', async () => {
    const before = (await readToken(READDED.appId)).body.access_token;
    const callsBefore = await tokenCalls(READDED.appId);
    const callbackQuery = '?signature=0&timestamp=0&nonce=0&echostr=hello';
    // configured: a wrong signature is a 401 (the account exists)
    expect((await getJson(`${hub.url}/wechat/${READDED.appId}${callbackQuery}`)).status).toBe(401);

    // in place this time (not renamed): the poll sees the new mtime and size
    writeFileSync(file, yaml([KEPT, ADDED]));
    await untilListed([KEPT.appId, ADDED.appId]);

    expect((await readToken(READDED.appId)).status).toBe(404);
    expect((await getJson(`${hub.url}/api/v1/accounts/${READDED.appId}/tickets/jsapi`, AUTH)).status).toBe(
      404,
    );
    expect((await getJson(`${hub.url}/wechat/${READDED.appId}${callbackQuery}`)).status).toBe(404);
    expect((await readToken(KEPT.appId)).status).toBe(200);

    replaceFile(yaml([KEPT, ADDED, READDED]));
    await untilListed([KEPT.appId, ADDED.appId, READDED.appId]);
    const after = await readToken(READDED.appId);

    expect(after.status).toBe(200);
    expect(after.body.access_token).toBe(before);
    expect(await stateAtWechat(READDED.appId, after.body.access_token)).toBe('valid');
    expect(await tokenCalls(READDED.appId)).toBe(callsBefore);
  });

  it('a removed account gets no further token calls while an account still configured keeps being refreshed', async () => {
    // tokens issued from now on live 12 s, so a planned refresh falls within the test
    const config = await postJson(`${simulator.url}/sandbox/config`, {
      tokenLifetimeSeconds: 12,
      overlapSeconds: 6,
    });
    expect(config.status).toBe(200);
    await addToSimulator(SHORT_REMOVED);
    await addToSimulator(SHORT_KEPT);
    replaceFile(yaml([KEPT, ADDED, READDED, SHORT_REMOVED, SHORT_KEPT]));
    await untilListed([KEPT.appId, ADDED.appId, READDED.appId, SHORT_REMOVED.appId, SHORT_KEPT.appId]);
    const removedToken = await readToken(SHORT_REMOVED.appId);
    const keptToken = await readToken(SHORT_KEPT.appId);
    expect(removedToken.status).toBe(200);
    expect(keptToken.status).toBe(200);

    replaceFile(yaml([KEPT, ADDED, READDED, SHORT_KEPT]));
    await untilListed([KEPT.appId, ADDED.appId, READDED.appId, SHORT_KEPT.appId]);
    const callsAtRemoval = await tokenCalls(SHORT_REMOVED.appId);
    const keptCallsAtRemoval = await tokenCalls(SHORT_KEPT.appId);
    // past the expiry of both tokens: a tracked account was refreshed ahead of it
    const until = Math.max(Date.parse(removedToken.body.expires_at), Date.parse(keptToken.body.expires_at));
    await delay(Math.max(0, until - Date.now()) + 1_500);

    expect(await tokenCalls(SHORT_REMOVED.appId)).toBe(callsAtRemoval);
    expect(await tokenCalls(SHORT_KEPT.appId)).toBeGreaterThan(keptCallsAtRemoval);
    expect((await readToken(SHORT_REMOVED.appId)).status).toBe(404);
    expect(await tokenCalls(SHORT_REMOVED.appId)).toBe(callsAtRemoval);
  });

  it('an invalid file is refused with a 400 listing the problems (no secret), and the running accounts keep working', async () => {
    const running = await listed();
    const tokenBefore = (await readToken(KEPT.appId)).body.access_token;
    const secret = `S${randomBytes(16).toString('hex')}`;
    replaceFile(
      [
        'accounts:',
        `  - appId: ${KEPT.appId}`,
        `    appSecret: ${KEPT.appSecret}`,
        `  - appId: wxnotvalid`,
        `    appSecret: ${secret}`,
        `    colour: blue`,
        '',
      ].join('\n'),
    );

    const reply = await postJson<ErrorBody>(`${hub.url}/api/v1/accounts/reload`, {}, AUTH);

    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.any(String) });
    expect(reply.body.message).toContain('WECHAT_ACCOUNTS_FILE[1].appId');
    expect(reply.body.message).toContain('WECHAT_ACCOUNTS_FILE[1].colour is not a known account field');
    expect(reply.body.message).not.toContain(secret);
    // the watcher saw the same file: it warns and applies nothing
    await delay(2_000);
    expect(await listed()).toEqual(running);
    const token = await readToken(KEPT.appId);
    expect(token.status).toBe(200);
    expect(token.body.access_token).toBe(tokenBefore);
    expect(await outputHas(hub, (line) => line.includes('was not applied'))).toBe(true);
    expect(hub.output.some((line) => line.includes(secret))).toBe(false);
  });

  it('a changed account is reported as changed and keeps serving its token until the next refresh', async () => {
    const before = (await readToken(KEPT.appId)).body.access_token;
    const calls = await tokenCalls(KEPT.appId);
    const newSecret = `S${randomBytes(16).toString('hex')}`;
    await addToSimulator({ ...KEPT, appSecret: newSecret });
    writeFileSync(file, yaml([{ ...KEPT, appSecret: newSecret }, ADDED, READDED, SHORT_KEPT]));

    const reply = await postJson<ReloadBody>(`${hub.url}/api/v1/accounts/reload`, {}, AUTH);

    expect(reply.status).toBe(200);
    // the watcher may have applied the change a moment before the route did
    expect([
      { added: [], removed: [], changed: [KEPT.appId], unchanged: 3 },
      { added: [], removed: [], changed: [], unchanged: 4 },
    ]).toContainEqual(reply.body);
    expect(await outputHas(hub, (line) => line.includes(`changed [${KEPT.appId}]`))).toBe(true);
    const token = await readToken(KEPT.appId);
    expect(token.body.access_token).toBe(before);
    expect(await tokenCalls(KEPT.appId)).toBe(calls);
    expect(hub.output.some((line) => line.includes(newSecret))).toBe(false);
  });

  it('an account added with a wrong AppSecret gets its token at once when the fixed secret is reloaded, without waiting out the backoff', async () => {
    await addToSimulator(MISTYPED);
    const wrong = { ...MISTYPED, appSecret: `S${randomBytes(16).toString('hex')}` };
    const others = [{ ...KEPT, appSecret: currentSecretOf(KEPT.appId) ?? KEPT.appSecret }];
    writeFileSync(file, yaml([...others, ADDED, READDED, SHORT_KEPT, wrong]));
    expect((await postJson<ReloadBody>(`${hub.url}/api/v1/accounts/reload`, {}, AUTH)).status).toBe(200);
    // WeChat refuses the secret: a configuration error, retried only after a long backoff
    const deadline = Date.now() + WATCH_TIMEOUT_MS;
    while ((await tokenCalls(MISTYPED.appId)) === 0 && Date.now() < deadline) await delay(100);
    const refused = await readToken(MISTYPED.appId);
    expect(refused.status).toBe(503);
    const failedCalls = await tokenCalls(MISTYPED.appId);

    writeFileSync(file, yaml([...others, ADDED, READDED, SHORT_KEPT, MISTYPED]));
    const fixedAt = Date.now();
    const reload = await postJson<ReloadBody>(`${hub.url}/api/v1/accounts/reload`, {}, AUTH);
    expect(reload.status).toBe(200);
    let token = await readToken(MISTYPED.appId);
    while (token.status !== 200 && Date.now() - fixedAt < WATCH_TIMEOUT_MS) {
      await delay(100);
      token = await readToken(MISTYPED.appId);
    }
    console.log(`fixed AppSecret reloaded: token served after ${Date.now() - fixedAt} ms`);
    expect(token.status).toBe(200);
    expect(await stateAtWechat(MISTYPED.appId, token.body.access_token)).toBe('valid');
    expect(await tokenCalls(MISTYPED.appId)).toBe(failedCalls + 1);
    expect(hub.output.some((line) => line.includes(wrong.appSecret))).toBe(false);
  });
});

/** The secret the previous test left in the file for an account (it rotates KEPT's). */
function currentSecretOf(appId: string): string | undefined {
  const text = readFileSync(file, 'utf8');
  const block = text.split('  - ').find((entry) => entry.includes(`appId: ${appId}`));
  return /appSecret: (\S+)/.exec(block ?? '')?.[1];
}
