import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import { freePort } from './free-port';
import { type ChildHandle, ChildStartError, spawnProcess, terminate, trackResource } from './processes';

export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '1mb']`. */
  args?: readonly string[];
  /** Milliseconds to wait for the first PONG. Default 10 000. */
  timeoutMs?: number;
  /** This port instead of a free one: to start a stopped server again where the hubs expect it. */
  port?: number;
}

/** A private, throw-away `redis-server` on 127.0.0.1 without persistence. */
export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly process: ChildHandle;
  /**
   * A new ioredis client for this server; the caller should `quit()` it. stop() disconnects any
   * client made here that is still open, so a failing test cannot leave one reconnecting forever.
   */
  client(options?: RedisOptions): Redis;
  /** FLUSHALL through a short-lived client. */
  flush(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing, as a hung Redis would. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Resumes the server if paused, terminates it and waits until it has exited and freed its port. */
  stop(): Promise<void>;
}

const PORT_ATTEMPTS = 3;

/** Spawns `redis-server` (found on PATH) on a free loopback port and resolves once it answers PING. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const binary = findOnPath('redis-server');
  if (binary === undefined) {
    throw new Error(
      'redis-server is not on PATH, and the e2e tests need a real one. ' +
        'Install it (`apt-get install redis-server`, as .ci/run does) or add its directory to PATH.',
    );
  }
  if (options.port !== undefined) return launch(binary, options.port, options);
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await launch(binary, port, options);
    } catch (error) {
      // freePort() cannot reserve the port; another process may have taken it in between.
      const portTaken =
        error instanceof ChildStartError &&
        error.output.some((line) => line.includes('Address already in use'));
      if (!portTaken || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

async function launch(binary: string, port: number, options: StartRedisOptions): Promise<RedisServerHandle> {
  const settings: Record<string, string> = {
    port: String(port),
    bind: '127.0.0.1',
    save: '',
    appendonly: 'no',
    'protected-mode': 'no',
  };
  const args = Object.entries(settings).flatMap(([name, value]) => [`--${name}`, value]);
  const child = await spawnProcess(binary, [...args, ...(options.args ?? [])], {
    name: `redis-server:${port}`,
    env: {},
    cwd: tmpdir(),
    timeoutMs: options.timeoutMs ?? 10_000,
    probe: () => answersPing(port),
  });

  const clients = new Set<Redis>();
  const disconnectClients = (): void => {
    for (const client of clients) client.disconnect();
    clients.clear();
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      untrack();
      disconnectClients();
      await terminate(child);
    })();
    return stopping;
  };
  const untrack = trackResource({ name: child.name, stop, killNow: disconnectClients });

  const handle: RedisServerHandle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    client(clientOptions = {}) {
      const client = new Redis({ host: '127.0.0.1', port, ...clientOptions });
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
    async flush() {
      const admin = handle.client({ maxRetriesPerRequest: 1 });
      try {
        await admin.flushall();
      } finally {
        admin.disconnect();
      }
    },
    pause: () => child.signal('SIGSTOP'),
    resume: () => child.signal('SIGCONT'),
    stop,
  };
  return handle;
}

/** A raw-socket PING, so that a probe leaves no client or timer behind. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (answered: boolean): void => {
      socket.destroy();
      resolvePing(answered);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

function findOnPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
