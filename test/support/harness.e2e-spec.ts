import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { ChildStartError, killAll, spawnNode } from './processes';
import { startRedis } from './redis-server';

const scriptsDir = mkdtempSync(join(tmpdir(), 'wxhub-harness-'));

afterAll(() => rmSync(scriptsDir, { recursive: true, force: true }));

function script(name: string, source: string): string {
  const path = join(scriptsDir, `${name}.js`);
  writeFileSync(path, source);
  return path;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function canListenOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const server = script(
  'server',
  `
  console.log('booting');
  console.error('a warning on stderr');
  setTimeout(() => console.log('ready on port 1234'), 50);
  process.on('SIGTERM', () => {
    console.log('shutting down');
    process.exit(7);
  });
  setInterval(() => undefined, 1000);
  `,
);

describe('freePort', () => {
  it('returns a port that can be listened on at once', async () => {
    const port = await freePort();

    expect(port).toBeGreaterThan(0);
    await expect(canListenOn(port)).resolves.toBe(true);
  });
});

describe('startRedis', () => {
  it('starts a redis-server on a loopback port that answers PING', async () => {
    const redis = await startRedis();
    const client = redis.client();

    await expect(client.ping()).resolves.toBe('PONG');
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);

    await client.quit();
    await redis.stop();
  });

  it('flush empties the database', async () => {
    const redis = await startRedis();
    const client = redis.client();
    await client.set('token:wx1', 'abc');

    await redis.flush();

    await expect(client.dbsize()).resolves.toBe(0);
    await client.quit();
    await redis.stop();
  });

  it('pause makes commands time out and resume makes them succeed again', async () => {
    const redis = await startRedis();
    const client = redis.client({ commandTimeout: 300 });
    await expect(client.ping()).resolves.toBe('PONG');

    redis.pause();
    await expect(client.set('k', 'v')).rejects.toThrow(/timed out/i);

    redis.resume();
    await expect(client.ping()).resolves.toBe('PONG');
    await expect(client.get('k')).resolves.toBe('v');

    await client.quit();
    await redis.stop();
  });

  it('stop ends the server, even a paused one, and frees its port', async () => {
    const redis = await startRedis();
    redis.pause();

    await redis.stop();

    expect(isRunning(redis.process.pid)).toBe(false);
    await expect(canListenOn(redis.port)).resolves.toBe(true);
  });

  it('stop disconnects clients the test forgot to quit', async () => {
    const redis = await startRedis();
    const forgotten = redis.client();
    await forgotten.ping();

    await redis.stop();

    expect(forgotten.status).toBe('end');
  });
});

describe('spawnNode', () => {
  it('resolves once a line matches and keeps stdout and stderr lines', async () => {
    const child = await spawnNode(server, { name: 'server', env: {}, readyWhen: /^ready on port \d+$/ });

    expect(child.output).toHaveLength(3);
    expect(child.output).toEqual(expect.arrayContaining(['booting', 'a warning on stderr']));
    expect(child.output[2]).toBe('ready on port 1234');
    expect(isRunning(child.pid)).toBe(true);

    await expect(child.kill()).resolves.toBe(7);
    expect(child.output).toContain('shutting down');
    await expect(child.exited).resolves.toEqual({ code: 7, signal: null });
    expect(isRunning(child.pid)).toBe(false);
  });

  it('accepts a predicate as readyWhen', async () => {
    const child = await spawnNode(server, {
      name: 'server',
      env: {},
      readyWhen: (line) => line.startsWith('ready'),
    });

    expect(child.output.at(-1)).toBe('ready on port 1234');
    await child.kill('SIGKILL');
  });

  it('gives the child only PATH, HOME and the env it was given', async () => {
    process.env.WECHAT_APP_SECRET = 'must-not-leak';
    process.env.REDIS_URL = 'redis://must-not-leak';
    const printEnv = script('print-env', 'console.log(JSON.stringify(process.env));');
    try {
      const child = await spawnNode(printEnv, {
        name: 'print-env',
        env: { WECHAT_APP_ID: 'wx1', NODE_ENV: 'production', HOME: undefined },
        readyWhen: /^\{/,
      });
      const env: unknown = JSON.parse(child.output[0] ?? '');

      expect(env).toEqual({ PATH: process.env.PATH, WECHAT_APP_ID: 'wx1', NODE_ENV: 'production' });
    } finally {
      delete process.env.WECHAT_APP_SECRET;
      delete process.env.REDIS_URL;
    }
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    const crashing = script(
      'crashing',
      `console.log('loading config');
       console.error('config invalid: WECHAT_ACCOUNTS is empty');
       process.exit(3);`,
    );

    const started = spawnNode(crashing, { name: 'crashing', env: {}, readyWhen: /ready/ });

    await expect(started).rejects.toThrow(ChildStartError);
    await expect(started).rejects.toThrow(/^crashing exited \(code 3\) before it was ready/);
    await expect(started).rejects.toThrow('| loading config');
    await expect(started).rejects.toThrow('| config invalid: WECHAT_ACCOUNTS is empty');
  });

  it('keeps only the last 40 lines in the error message', async () => {
    const chatty = script(
      'chatty',
      `for (let i = 1; i <= 100; i++) console.log('line ' + i); process.exit(1);`,
    );

    const error = await spawnNode(chatty, { name: 'chatty', env: {}, readyWhen: /ready/ }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ChildStartError);
    const { message, output } = error as ChildStartError;
    expect(output).toHaveLength(100);
    expect(message).toContain('Last 40 of 100 lines');
    expect(message).toContain('| line 61\n');
    expect(message).not.toContain('| line 60\n');
    expect(message.endsWith('| line 100')).toBe(true);
  });

  it('rejects with the output and kills the process when it is not ready in time', async () => {
    const stuck = script('stuck', `console.log('still booting'); setInterval(() => undefined, 1000);`);

    const error = await spawnNode(stuck, {
      name: 'stuck',
      env: {},
      readyWhen: /ready/,
      timeoutMs: 500,
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChildStartError);
    const { message, pid } = error as ChildStartError;
    expect(message).toMatch(/^stuck did not become ready within 500 ms and was killed/);
    expect(message).toContain('| still booting');
    expect(pid).toEqual(expect.any(Number));
    expect(isRunning(pid as number)).toBe(false);
  });
});

describe('killAll', () => {
  it('leaves no spawned process or redis-server running, even one that ignores SIGTERM', async () => {
    const stubborn = script(
      'stubborn',
      `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
       console.log('ready');
       setInterval(() => undefined, 1000);`,
    );
    const children = await Promise.all([
      spawnNode(server, { name: 'server', env: {}, readyWhen: /ready/ }),
      spawnNode(stubborn, { name: 'stubborn', env: {}, readyWhen: /ready/ }),
    ]);
    const redis = await startRedis();
    redis.pause();
    const pids = [...children.map((child) => child.pid), redis.process.pid];
    expect(pids.every(isRunning)).toBe(true);

    await killAll();

    expect(pids.filter(isRunning)).toEqual([]);
    await expect(children[1]?.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
  });
});
