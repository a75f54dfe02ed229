import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { getJson } from './support/http';
import {
  type ChildHandle,
  ChildStartError,
  logEntries,
  startHub,
  startSimulator,
  terminate,
} from './support/processes';
import { type RedisServerHandle, startRedis } from './support/redis-server';

/*
 * Secrets written in odd ways never reach a real hub's output (dist/main.js, NODE_ENV=production), at
 * LOG_LEVEL=trace and at info: an AppSecret and an access token with one character percent-encoded (which the routes
 * decode and accept), behind a `#` the router reads past, after `;`, repeated; the admin key and a secret in requests
 * Node cannot parse; the password of a REDIS_URL that works and of one that cannot (an unescaped `#`). The whole
 * output is then searched for each secret as it is, JSON-escaped, as base64 and as a byte list, and each line once
 * percent-decoded (up to three times, `+` as space), so no encoding of a secret passes.
 */

type Hub = ChildHandle & { url: string; port: number };

const APP_ID = 'wxlogsecrets000001';
const APP_SECRET = randomBytes(16).toString('hex');
const KEY = `key+/${randomBytes(12).toString('hex')}`;
const REDIS_PASSWORD = `rp#/?${randomBytes(8).toString('hex')}`;
const BAD_REDIS_PASSWORD = `bad#${randomBytes(8).toString('hex')}`;

/** `value` with its `index`-th character percent-encoded, in upper or lower case hex. */
function encodeOne(value: string, index: number, lower = false): string {
  const hex = value.charCodeAt(index).toString(16).padStart(2, '0');
  return `${value.slice(0, index)}%${lower ? hex : hex.toUpperCase()}${value.slice(index + 1)}`;
}

/** Sends `request` as it is on a new connection and resolves with everything the server wrote back. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(request));
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      // one answer per connection: the server closes after a refused request, a complete JSON body ends the rest
      if (/\r\n\r\n[\s\S]*\}$/.test(answer)) socket.end();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
  });
}

function get(port: number, target: string, headers: Record<string, string> = {}): Promise<string> {
  const lines = Object.entries({ host: '127.0.0.1', connection: 'close', ...headers }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  return rawRequest(port, `GET ${target} HTTP/1.1\r\n${lines.join('')}\r\n`);
}

/** Every way a secret could be written that a reader of the logs could turn back into it. */
function writtenForms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    [...bytes].join(','),
    [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(''),
  ];
}

/** `line` and its percent-decoded forms (well-formed escapes only, `+` as space), up to three times. */
function decodedForms(line: string): string[] {
  const forms = [line];
  let current = line;
  for (let round = 0; round < 3; round++) {
    const next = current
      .replace(/\+/g, ' ')
      .replace(/%([0-9a-fA-F]{2})/g, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) break;
    forms.push(next, Buffer.from(next, 'latin1').toString('utf8'));
    current = next;
  }
  return forms;
}

/** The secrets of `secrets` found in `output`, with the line and form where each was found. */
function leaks(output: readonly string[], secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const line of output) {
    for (const secret of secrets) {
      // a secret with a space (or `+`) may be written with either once decoded
      const variants = [secret, secret.replace(/\+/g, ' ')];
      const forms = [...decodedForms(line), ...decodedForms(line).map((form) => form.replace(/\+/g, ' '))];
      for (const written of variants.flatMap(writtenForms)) {
        if (forms.some((form) => form.includes(written))) found.push(`${written} in: ${line.slice(0, 300)}`);
      }
    }
  }
  return [...new Set(found)];
}

describe.each(['trace', 'info'] as const)('secrets in odd encodings at LOG_LEVEL=%s', (level) => {
  let redis: RedisServerHandle;
  let simulator: ChildHandle & { url: string };
  let hub: Hub;
  let badHubOutput: readonly string[] = [];
  let badHubError: unknown;
  let token = '';
  const answers: Record<string, string> = {};

  beforeAll(async () => {
    redis = await startRedis();
    const admin = redis.client();
    await admin.config('SET', 'requirepass', REDIS_PASSWORD);
    admin.disconnect();
    simulator = await startSimulator();
    await fetch(`${simulator.url}/sandbox/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appId: APP_ID, appSecret: APP_SECRET }),
    });
    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: level,
      REDIS_KEY_PREFIX: `logsec${randomBytes(3).toString('hex')}`,
      WECHAT_API_BASE_URL: simulator.url,
      WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP_ID, appSecret: APP_SECRET, tokenEndpoint: 'stable' }]),
      ADMIN_API_KEYS: KEY,
    };
    hub = await startHub({
      ...env,
      REDIS_URL: `redis://:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redis.port}/0`,
    });
    const read = await getJson<{ access_token: string }>(`${hub.url}/api/v1/accounts/${APP_ID}/token`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(read.status).toBe(200);
    token = read.body.access_token;

    const drop = `grant_type=client_credential&appid=${APP_ID}`;
    const requests: Record<string, string> = {
      'one character encoded': `/cgi-bin/token?${drop}&secret=${encodeOne(APP_SECRET, 4)}`,
      'lower-case hex, last character': `/cgi-bin/token?${drop}&secret=${encodeOne(APP_SECRET, 31, true)}`,
      'a # before the query': `/cgi-bin/token?x=#&${drop}&secret=${encodeOne(APP_SECRET, 7)}`,
      'the query after a #': `/cgi-bin/token#&${drop}&secret=${APP_SECRET}`,
      'a ; in the path': `/cgi-bin/token;secret=${APP_SECRET}?${drop}`,
      'a ; in the query': `/cgi-bin/token?${drop};secret=${encodeOne(APP_SECRET, 2)}`,
      'a repeated parameter': `/cgi-bin/token?${drop}&secret=${APP_SECRET}&secret=${encodeOne(APP_SECRET, 9)}`,
      'an encoded name': `/cgi-bin/token?${drop}&se%63ret=${encodeOne(APP_SECRET, 1)}`,
      'pass-through, one character encoded': `/cgi-bin/getcallbackip?access_token=${encodeOne(token, 3)}`,
      'pass-through after a #': `/cgi-bin/getcallbackip?x=#&access_token=${encodeOne(token, 5, true)}`,
      'admin API with the key in the query': `/api/v1/accounts?key=${encodeURIComponent(KEY)}&x=${APP_SECRET}`,
    };
    for (const [name, target] of Object.entries(requests)) answers[name] = await get(hub.port, target);
    // requests Node cannot parse: a bad header byte, a space in the request target
    answers['bad header'] = await rawRequest(
      hub.port,
      `GET /cgi-bin/token?${drop}&secret=${APP_SECRET} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nX-Bad: a\u0001b\r\n\r\n`,
    );
    answers['bad request line'] = await rawRequest(
      hub.port,
      `GET /cgi-bin/token?secret=${APP_SECRET} key=${KEY} HTTP/1.1\r\nAuthorization: Bearer ${KEY}\r\n\r\n`,
    );
    // a hub whose REDIS_URL cannot be used: the password holds an unescaped `#`
    try {
      const bad = await startHub(
        { ...env, REDIS_URL: `redis://:${BAD_REDIS_PASSWORD}@127.0.0.1:${redis.port}/0` },
        { name: 'bad-redis-url-hub', timeoutMs: 20_000 },
      );
      badHubOutput = bad.output;
      await terminate(bad);
    } catch (error) {
      badHubError = error;
      if (error instanceof ChildStartError) badHubOutput = error.output;
    }
    // every line of the answered requests is out (a hub writes a turn's lines when the turn ends)
    await new Promise((resolve) => setTimeout(resolve, 300));
  }, 120_000);

  afterAll(async () => {
    if (hub) await terminate(hub);
    if (simulator) await terminate(simulator);
    if (redis) await redis.stop();
  });

  it('answers the drop-in and the pass-through with the secret or token as the routes decoded it', () => {
    for (const name of [
      'one character encoded',
      'lower-case hex, last character',
      'a # before the query',
      'an encoded name',
    ]) {
      expect({ name, answer: answers[name] }).toEqual({
        name,
        answer: expect.stringContaining('"access_token"'),
      });
    }
    for (const name of ['pass-through, one character encoded', 'pass-through after a #']) {
      expect({ name, answer: answers[name] }).toEqual({ name, answer: expect.stringContaining('"ip_list"') });
    }
    expect(answers['bad header']).toMatch(/^HTTP\/1.1 400/);
    expect(answers['bad request line']).toMatch(/^HTTP\/1.1 400/);
  });

  it('writes no secret, token, key or Redis password in any encoding', () => {
    const lines = hub.output.filter((line) => line.includes('request completed'));
    expect(lines.length).toBeGreaterThanOrEqual(11);
    if (level === 'trace') {
      // Fastify logs a request Node cannot parse at trace, with the error Node gave it: its bytes only counted
      const clientErrors = logEntries(hub.output).filter((entry) => entry.msg === 'client error');
      expect(clientErrors.map((entry) => entry.err)).toEqual([
        expect.objectContaining({ code: expect.stringMatching(/^HPE_/), rawPacketBytes: expect.any(Number) }),
        expect.objectContaining({ code: expect.stringMatching(/^HPE_/), rawPacketBytes: expect.any(Number) }),
      ]);
    }
    // the redactor did its part: what the router read as the secret is redacted in the logged URL
    const urls = logEntries(hub.output).flatMap((entry) =>
      typeof entry.url === 'string' ? [entry.url] : [],
    );
    expect(urls).toEqual(
      expect.arrayContaining([
        `/cgi-bin/token?x=#&grant_type=client_credential&appid=${APP_ID}&secret=[redacted]`,
        '/cgi-bin/getcallbackip?x=#&access_token=[redacted]',
        `/cgi-bin/token?grant_type=client_credential&appid=${APP_ID};secret=[redacted]`,
      ]),
    );

    expect(leaks(hub.output, [APP_SECRET, token, KEY, REDIS_PASSWORD])).toEqual([]);
  });

  it('refuses a REDIS_URL whose password holds an unescaped # at boot, naming the problem and not the password', () => {
    expect(badHubError).toBeInstanceOf(ChildStartError);
    expect(badHubOutput.join('\n')).toContain(
      "REDIS_URL: the password (or user name) contains '#', '/' or '?' unescaped: percent-encode it",
    );
    expect(leaks(badHubOutput, [BAD_REDIS_PASSWORD, BAD_REDIS_PASSWORD.slice(4), APP_SECRET, KEY])).toEqual(
      [],
    );
  });
});
