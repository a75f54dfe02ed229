import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { freePort } from './free-port';
import { type ChildHandle, spawnProcess, terminate, trackResource } from './processes';

/*
 * Real Redis topologies on loopback for the e2e tests: a Redis Cluster of N masters, and a master + replica
 * watched by 3 sentinels. Every process runs on 127.0.0.1 from a temp dir (config, nodes files) and is stopped by
 * stop() or, failing that, by killAll() after the test file.
 */

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface TopologyOptions {
  /** `requirepass` (and `masterauth`) of every data node; sentinels themselves have none. */
  password?: string;
}

interface Node {
  readonly port: number;
  readonly process: ChildHandle;
  readonly args: string[];
}

/** A Redis Cluster whose masters each own a third (or 1/N) of the slots. */
export interface RedisClusterHandle {
  readonly ports: readonly number[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…` as REDIS_CLUSTER_NODES. */
  readonly seeds: string;
  /** A client of one node (the caller need not close it; stop() does). */
  node(port: number): Redis;
  /** A cluster client (closed by stop()). */
  cluster(): Cluster;
  /** The port of the master that serves `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** SIGSTOP one node: it keeps its sockets and answers nothing, as a hung server would. */
  pause(port: number): void;
  /** SIGCONT after pause(). */
  resume(port: number): void;
  /** SIGKILL one node and wait until it is gone (no persistence: its data is lost). */
  crash(port: number): Promise<void>;
  /** Starts a crashed node again on its port with its cluster config (same id and slots, no data). */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Master + replica + 3 sentinels monitoring them under `name`. */
export interface RedisSentinelHandle {
  readonly name: string;
  /** `127.0.0.1:s1,…` as REDIS_SENTINELS. */
  readonly sentinels: string;
  /** The data nodes' ports, [first master, first replica]. */
  readonly dataPorts: readonly [number, number];
  /** A client of a data node or sentinel (closed by stop()). */
  node(port: number): Redis;
  /** The master's port as the sentinels see it now. */
  masterPort(): Promise<number>;
  /**
   * `SENTINEL FAILOVER` and waits until the sentinels name the other node as master and it answers as master.
   * The old master is turned into a replica later (when a sentinel next sees it still claiming the role, up to
   * ~15 s on this setup); until then it still accepts writes, so clients must follow the sentinels, not it.
   */
  failover(): Promise<{ from: number; to: number; promotedMs: number }>;
  /** `master` or `slave`, as the data node on `port` answers ROLE now. */
  role(port: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts `masters` cluster-enabled redis-servers, joins them with `redis-cli --cluster create`, waits for `ok`. */
export async function startRedisCluster(
  options: TopologyOptions & { masters?: number } = {},
): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'wxhub-cluster-'));
  const owned = new Owned(dir, options.password);
  try {
    const ports = await clusterPorts(options.masters ?? 3);
    for (const port of ports) {
      owned.nodes.push(
        await startServer(port, dir, options.password, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
        ]),
      );
    }
    await run(
      'redis-cli',
      [
        ...(options.password ? ['-a', options.password, '--no-auth-warning'] : []),
        '--cluster',
        'create',
        ...ports.map((port) => `${HOST}:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 20_000 },
    );
    await waitFor('the cluster to report ok on every node', async () => {
      for (const port of ports) {
        const info = await owned.client(port).cluster('INFO');
        if (
          !/cluster_state:ok/.test(info) ||
          !new RegExp(`cluster_known_nodes:${ports.length}\\b`).test(info)
        )
          return false;
      }
      return true;
    });
  } catch (error) {
    await owned.stop();
    throw error;
  }
  return {
    ports: owned.nodes.map((n) => n.port),
    seeds: owned.nodes.map((n) => `${HOST}:${n.port}`).join(','),
    node: (port) => owned.client(port),
    cluster: () => owned.cluster(owned.nodes.map((n) => ({ host: HOST, port: n.port }))),
    async masterOf(key) {
      const first = owned.client(owned.nodes[0]!.port);
      const slot = Number(await first.cluster('KEYSLOT', key));
      const range = (await first.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
      const master = range?.[2];
      if (!master) throw new Error(`no master serves slot ${slot}`);
      return master[1];
    },
    pause: (port) => owned.nodes.find((n) => n.port === port)?.process.signal('SIGSTOP'),
    resume: (port) => owned.nodes.find((n) => n.port === port)?.process.signal('SIGCONT'),
    async crash(port) {
      const node = owned.nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on ${port}`);
      await node.process.kill('SIGKILL');
    },
    async restart(port) {
      const index = owned.nodes.findIndex((n) => n.port === port);
      const node = owned.nodes[index];
      if (!node) throw new Error(`no cluster node on ${port}`);
      owned.nodes[index] = await startServer(port, dir, options.password, node.args);
    },
    stop: () => owned.stop(),
  };
}

/** Starts a master, a replica of it, and 3 sentinels (quorum 2) once the replica is in sync. */
export async function startRedisSentinel(
  options: TopologyOptions & { name?: string } = {},
): Promise<RedisSentinelHandle> {
  const name = options.name ?? 'wxmaster';
  const dir = mkdtempSync(join(tmpdir(), 'wxhub-sentinel-'));
  const owned = new Owned(dir, options.password);
  const sentinelPorts: number[] = [];
  try {
    const master = await startServer(await freePort(), dir, options.password);
    owned.nodes.push(master);
    const replica = await startServer(await freePort(), dir, options.password, [
      '--replicaof',
      HOST,
      String(master.port),
    ]);
    owned.nodes.push(replica);
    await waitFor('the replica to sync', async () =>
      /master_link_status:up/.test(await owned.client(replica.port).info('replication')),
    );
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${name} ${HOST} ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
          '',
        ].join('\n'),
      );
      const child = await spawnProcess('redis-server', [conf, '--sentinel'], {
        name: `redis-sentinel:${port}`,
        env: {},
        cwd: dir,
        timeoutMs: 10_000,
        probe: () => answersPing(port),
      });
      owned.nodes.push({ port, process: child, args: [] });
      sentinelPorts.push(port);
    }
    // a forced failover needs the replica known; the others' sentinels make the picture complete for ioredis
    await waitFor('every sentinel to know the replica and the other sentinels', async () => {
      for (const port of sentinelPorts) {
        const sentinel = owned.client(port, false);
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', name)) as unknown[];
        const others = (await sentinel.call('SENTINEL', 'SENTINELS', name)) as unknown[];
        if (replicas.length < 1 || others.length < 2) return false;
      }
      return true;
    });
  } catch (error) {
    await owned.stop();
    throw error;
  }
  const sentinel = (): Redis => owned.client(sentinelPorts[0]!, false);
  const masterPort = async (): Promise<number> => {
    const [, port] = (await sentinel().call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
    return Number(port);
  };
  const dataPorts = [owned.nodes[0]!.port, owned.nodes[1]!.port] as const;
  return {
    name,
    sentinels: sentinelPorts.map((port) => `${HOST}:${port}`).join(','),
    dataPorts,
    node: (port) => owned.client(port, !sentinelPorts.includes(port)),
    masterPort,
    async failover() {
      const from = await masterPort();
      const to = dataPorts.find((port) => port !== from)!;
      const started = Date.now();
      await sentinel().call('SENTINEL', 'FAILOVER', name);
      await waitFor('the sentinels to promote the replica', async () => {
        if ((await masterPort()) !== to) return false;
        return /role:master/.test(await owned.client(to).info('replication'));
      });
      return { from, to, promotedMs: Date.now() - started };
    },
    async role(port) {
      const [role] = (await owned.client(port).call('ROLE')) as [string];
      return role;
    },
    stop: () => owned.stop(),
  };
}

/** The processes, clients and temp dir of one topology, stopped together. */
class Owned {
  readonly nodes: Node[] = [];
  private readonly clients = new Map<string, Redis>();
  private readonly clusters: Cluster[] = [];
  private stopping: Promise<void> | undefined;
  private readonly untrack: () => void;

  constructor(
    private readonly dir: string,
    private readonly password: string | undefined,
  ) {
    this.untrack = trackResource({
      name: `redis topology in ${dir}`,
      stop: () => this.stop(),
      killNow: () => this.disconnect(),
    });
  }

  client(port: number, authenticated = true): Redis {
    const key = `${port}:${authenticated}`;
    let client = this.clients.get(key);
    if (!client) {
      const clientOptions: RedisOptions = { host: HOST, port, maxRetriesPerRequest: 1, lazyConnect: false };
      if (authenticated && this.password) clientOptions.password = this.password;
      client = new Redis(clientOptions);
      client.on('error', () => undefined);
      this.clients.set(key, client);
    }
    return client;
  }

  cluster(nodes: { host: string; port: number }[]): Cluster {
    const cluster = new Cluster(nodes, { redisOptions: this.password ? { password: this.password } : {} });
    cluster.on('error', () => undefined);
    this.clusters.push(cluster);
    return cluster;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.untrack();
      this.disconnect();
      await Promise.all(this.nodes.map((node) => terminate(node.process)));
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private disconnect(): void {
    for (const client of this.clients.values()) client.disconnect();
    for (const cluster of this.clusters) cluster.disconnect();
    this.clients.clear();
  }
}

async function startServer(
  port: number,
  dir: string,
  password: string | undefined,
  args: string[] = [],
): Promise<Node> {
  const settings = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    '--dir',
    dir,
    // a replica's first sync starts at once instead of after the default 5 s wait for more replicas
    '--repl-diskless-sync-delay',
    '0',
    ...(password ? ['--requirepass', password, '--masterauth', password] : []),
  ];
  const child = await spawnProcess('redis-server', [...settings, ...args], {
    name: `redis-server:${port}`,
    env: {},
    cwd: dir,
    timeoutMs: 10_000,
    probe: () => answersPing(port),
  });
  return { port, process: child, args };
}

/** Ports p whose cluster bus port p + 10000 is free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 200; attempt++) {
    const port = await freePort();
    if (port > 55_535 || ports.includes(port)) continue;
    if (await isFree(port + 10_000)) ports.push(port);
  }
  if (ports.length < count) throw new Error('could not find free ports (and bus ports) for a Redis Cluster');
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A raw PING: answered (PONG, or NOAUTH from a server with a password) means the server is up. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    const finish = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** Polls `check` every 100 ms until it is true; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    }
    await delay(100);
  }
}
