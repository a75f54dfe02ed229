import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pushXml, signPush, type SignedPush } from '../src/sandbox/push-builder';
import { type ChildHandle, startCallbackHost, startSimulator } from './support/processes';
import { startRedis } from './support/redis-server';

/*
 * A byte-identical push replayed late in its timestamp window is not handled again: the de-duplication TTL is
 * derived from CALLBACK_MAX_CLOCK_SKEW_SECONDS, on the shared Redis store and on the in-memory one, for plain and
 * encrypted pushes. A short window (3 s, so a TTL of 2 × 3 + 30 s) keeps the test quick.
 */

type Host = ChildHandle & { url: string };

const SKEW_SECONDS = 3;
const PLAIN = {
  appId: 'wxreplayplain00001',
  appSecret: 'replayplainsecret0000001',
  token: 'replayPlainToken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  messageMode: 'plain',
};
const SAFE = {
  appId: 'wxreplaysafe000001',
  appSecret: 'replaysafesecret00000001',
  token: 'replaySafeToken',
  encodingAESKey: '0123456789abcdefghijABCDEFGHIJklmnopqrstKLM',
  messageMode: 'safe',
};

let logDir: string;
let handlerLog: string;
let redisHost: Host;
let memoryHost: Host;

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'wxhub-replay-e2e-'));
  handlerLog = join(logDir, 'handlers.log');
  writeFileSync(handlerLog, '');
  const [redis, simulator] = await Promise.all([
    startRedis(),
    startSimulator({
      SANDBOX_APPS: JSON.stringify([PLAIN, SAFE].map(({ appId, appSecret }) => ({ appId, appSecret }))),
    }),
  ]);
  const env = {
    NODE_ENV: 'test',
    WECHAT_SANDBOX: 'false',
    WECHAT_ACCOUNTS: JSON.stringify([PLAIN, SAFE]),
    WECHAT_API_BASE_URL: simulator.url,
    LOG_LEVEL: 'warn',
    HANDLER_LOG: handlerLog,
    CALLBACK_MAX_CLOCK_SKEW_SECONDS: String(SKEW_SECONDS),
  };
  [redisHost, memoryHost] = await Promise.all([
    startCallbackHost({ ...env, REDIS_URL: redis.url }, { name: 'replay-host-redis' }),
    startCallbackHost(env, { name: 'replay-host-memory' }),
  ]);
});

afterAll(() => {
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

function runs(msgId: string): number {
  return readFileSync(handlerLog, 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[1] === msgId).length;
}

async function deliver(host: Host, appId: string, signed: SignedPush): Promise<number> {
  const response = await fetch(
    `${host.url}/wechat/${appId}?${new URLSearchParams(signed.query).toString()}`,
    {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: signed.body,
    },
  );
  await response.text();
  return response.status;
}

describe.each([
  ['Redis', () => redisHost],
  ['in-memory', () => memoryHost],
])('a byte-identical replay late in the window, %s store', (_store, host) => {
  it.each([
    ['plain', PLAIN, false],
    ['safe (encrypted)', SAFE, true],
  ])('%s: handled once, the replay answered from the record', async (_mode, account, encrypt) => {
    const msgId = String(BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000)));
    // stamped at the window's future edge: accepted from now until 2 × skew from now
    const timestamp = String(Math.floor(Date.now() / 1000) + SKEW_SECONDS - 1);
    const signed = signPush(
      { ...account, encrypt, timestamp, nonce: '424242' },
      pushXml({ msgId, text: 'replay me', fromUser: `o_replay_${msgId}` }),
    );

    expect(await deliver(host(), account.appId, signed)).toBe(200);
    // past the first delivery by more than one skew: the timestamp is now in the window's past half
    await delay((SKEW_SECONDS + 1) * 1000);
    expect(await deliver(host(), account.appId, signed)).toBe(200);

    expect(runs(msgId)).toBe(1);
    // and once outside the window, the timestamp check refuses it
    await delay(SKEW_SECONDS * 1000);
    expect(await deliver(host(), account.appId, signed)).toBe(401);
    expect(runs(msgId)).toBe(1);
  });
});
