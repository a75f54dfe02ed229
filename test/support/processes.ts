import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port';

/** How a spawned process ended: `code` is null when a signal ended it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child process started by this module. */
export interface ChildHandle {
  readonly pid: number;
  readonly name: string;
  /**
   * Every stdout and stderr line so far, in arrival order, for the whole life of the process (never trimmed), so a
   * spec can grep a hub's complete logs; see {@link logEntries} for its JSON lines parsed.
   */
  readonly output: string[];
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends `signal` without waiting, e.g. SIGSTOP / SIGCONT / SIGHUP. A no-op once the process has exited. */
  signal(signal: NodeJS.Signals): void;
  readonly exited: Promise<ChildExit>;
}

/** A line matches when the RegExp tests true on it or the function returns true. */
export type LineMatcher = RegExp | ((line: string) => boolean);

/** When a spawned process counts as started: a matching output line, or a probe that resolves true. */
export type Readiness =
  { readyWhen: LineMatcher } | { probe: () => Promise<boolean>; probeIntervalMs?: number };

export type SpawnOptions = Readiness & {
  /**
   * Variables on top of a clean environment that holds only PATH and HOME from this process.
   * Nothing else is inherited (no WECHAT_*, REDIS_*, NODE_ENV unless given here); `undefined` unsets.
   */
  env: Record<string, string | undefined>;
  /** Used in error messages and in the registry. */
  name: string;
  /** Milliseconds to wait for readiness before the process is killed. Default 15 000. */
  timeoutMs?: number;
  /** Working directory. Default: the repository root. */
  cwd?: string;
};

/** Thrown when a process exits, cannot be spawned or times out before it is ready. */
export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';

  constructor(
    readonly processName: string,
    /** Undefined when the process could not be spawned at all. */
    readonly pid: number | undefined,
    readonly reason: string,
    readonly output: readonly string[],
  ) {
    super(`${processName} ${reason}.\n${describeTail(output)}`);
  }
}

/** Something that killAll() must stop: a child process, or a helper (like a redis handle) that owns one. */
export interface TrackedResource {
  readonly name: string;
  /** Stops gracefully; must be safe to call twice. */
  stop(): Promise<void>;
  /** Last resort at process exit: must act synchronously. */
  killNow(): void;
}

export const repoRoot = resolve(__dirname, '..', '..');

const TAIL_LINES = 40;
const DEFAULT_READY_TIMEOUT_MS = 15_000;
const KILL_GRACE_MS = 3_000;
const EXIT_FLUSH_MS = 500;
const REGISTRY = Symbol.for('wxhub.test-support.tracked-resources');

const live = liveResources();

/**
 * Registers a resource for killAll() and for the exit-time cleanup.
 * @returns a function that unregisters it.
 */
export function trackResource(resource: TrackedResource): () => void {
  live.add(resource);
  return () => {
    live.delete(resource);
  };
}

/**
 * Stops every tracked process and resource, newest first, and waits for them: SIGTERM, then SIGKILL
 * after 3 s. The e2e project runs it after every test file.
 */
export async function killAll(): Promise<void> {
  const resources = [...live].reverse();
  live.clear();
  await Promise.all(resources.map((resource) => resource.stop()));
}

/** SIGTERM (resuming the process first in case it is stopped), then SIGKILL once `graceMs` has passed. */
export async function terminate(handle: ChildHandle, graceMs = KILL_GRACE_MS): Promise<ChildExit> {
  handle.signal('SIGCONT');
  const escalation = setTimeout(() => handle.signal('SIGKILL'), graceMs);
  try {
    await handle.kill('SIGTERM');
    return await handle.exited;
  } finally {
    clearTimeout(escalation);
  }
}

/**
 * Whether a line matching `matcher` appears in `handle`'s output within `timeoutMs`. A hub writes the log lines of
 * an event-loop turn together when the turn ends, so a line logged while answering a request can arrive a moment
 * after the answer: wait for it rather than look once.
 */
export async function outputHas(
  handle: ChildHandle,
  matcher: LineMatcher,
  timeoutMs = 5_000,
): Promise<boolean> {
  const matches = typeof matcher === 'function' ? matcher : (line: string) => matcher.test(line);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (handle.output.some(matches)) return true;
    if (Date.now() >= deadline) return false;
    await delay(20);
  }
}

/** One JSON log line of a hub (pino): `level` 10 trace … 60 fatal, `msg`, and the bindings of its request. */
export interface LogEntry {
  level: number;
  time: string;
  msg: string;
  context?: string;
  reqId?: string;
  appId?: string;
  [field: string]: unknown;
}

/** The JSON lines of `output` parsed, in order; lines that are not JSON objects are skipped. */
export function logEntries(output: readonly string[]): LogEntry[] {
  return output.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === 'object' && parsed !== null ? [parsed as LogEntry] : [];
    } catch {
      return [];
    }
  });
}

/** Spawns `command args` with a clean environment and resolves once it is ready (see {@link SpawnOptions}). */
export function spawnProcess(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<ChildHandle> {
  const { name } = options;
  const output: string[] = [];
  const lineListeners = new Set<(line: string) => void>();
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { pid } = child;
  if (pid === undefined) {
    return new Promise((_resolve, reject) => {
      child.once('error', (error) =>
        reject(
          new ChildStartError(name, undefined, `could not be spawned (${command}): ${error.message}`, output),
        ),
      );
    });
  }

  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      output.push(line);
      for (const listener of lineListeners) listener(line);
    });
  }

  let running = true;
  const exited = new Promise<ChildExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      running = false;
      const exit = { code, signal };
      // 'close' follows once stdout/stderr have drained, unless a grandchild keeps the pipes open.
      const fallback = setTimeout(() => resolveExit(exit), EXIT_FLUSH_MS);
      child.once('close', () => {
        clearTimeout(fallback);
        resolveExit(exit);
      });
    });
  });
  // NOTE: a failed kill() is reported as an 'error' event, which would otherwise crash the test run.
  child.on('error', () => undefined);

  const handle: ChildHandle = {
    pid,
    name,
    output,
    exited,
    signal(signal) {
      if (running) child.kill(signal);
    },
    async kill(signal = 'SIGTERM') {
      handle.signal(signal);
      return (await exited).code;
    },
  };
  const untrack = trackResource({
    name,
    stop: async () => {
      await terminate(handle);
    },
    killNow: () => killSync(child),
  });
  void exited.then(untrack);

  return waitUntilReady(handle, options, lineListeners);
}

/**
 * Runs `node script` (with this process's Node binary) and resolves once it is ready.
 * Rejects with the last 40 output lines if it exits or times out first.
 */
export function spawnNode(script: string, options: SpawnOptions): Promise<ChildHandle> {
  return spawnProcess(process.execPath, [script], options);
}

/** Options shared by {@link startSimulator} and {@link startHub}. */
export interface StartOptions {
  /** Default `simulator` / `hub`; give several instances different names. */
  name?: string;
  timeoutMs?: number;
}

/**
 * Starts the WeChat API simulator (`dist/sandbox/main.js`) on a free port (`SANDBOX_PORT=0` unless
 * `env` says otherwise) and resolves with its base URL once it prints its `listening` line.
 */
export async function startSimulator(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<ChildHandle & { url: string }> {
  let url: string | undefined;
  const handle = await spawnNode(builtScript('dist/sandbox/main.js'), {
    name: options.name ?? 'simulator',
    env: { SANDBOX_PORT: '0', ...env },
    timeoutMs: options.timeoutMs,
    readyWhen: (line) => {
      url = listeningUrl(line);
      return url !== undefined;
    },
  });
  if (url === undefined) throw new Error(`${handle.name} was ready without announcing its URL`);
  return { ...handle, url };
}

/**
 * Starts the hub (`dist/main.js`) with `PORT` set to a free port and resolves once
 * `GET /health` answers with any status (polled every 100 ms, 30 s timeout).
 */
export async function startHub(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<ChildHandle & { url: string; port: number }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const handle = await spawnNode(builtScript('dist/main.js'), {
    name: options.name ?? 'hub',
    env: { ...env, PORT: String(port) },
    timeoutMs: options.timeoutMs ?? 30_000,
    probe: () => answersHttp(`${url}/health`),
    probeIntervalMs: 100,
  });
  return { ...handle, url, port };
}

/**
 * Starts `test/fixtures/callback-host.js` — a host app with callback handlers, built by createApp — on a free port.
 * Ready once `/health` answers 200: listening, the store answers and every account holds a live token (so a late
 * reply needs no upstream wait).
 */
export async function startCallbackHost(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<ChildHandle & { url: string; port: number }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const handle = await spawnNode('test/fixtures/callback-host.js', {
    name: options.name ?? 'callback-host',
    env: { ...env, PORT: String(port) },
    timeoutMs: options.timeoutMs ?? 30_000,
    probe: async () => (await fetch(`${url}/health`)).status === 200,
    probeIntervalMs: 100,
  });
  return { ...handle, url, port };
}

function waitUntilReady(
  handle: ChildHandle,
  options: SpawnOptions,
  lineListeners: Set<(line: string) => void>,
): Promise<ChildHandle> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  return new Promise((resolveReady, rejectReady) => {
    let settled = false;
    let timedOut = false;
    const becameReady = (): void => {
      if (settled || timedOut) return;
      settled = true;
      clearTimeout(timer);
      lineListeners.clear();
      resolveReady(handle);
    };
    // Rejecting only after the exit means a timed-out process is gone by the time the caller hears of it.
    const timer = setTimeout(() => {
      timedOut = true;
      handle.signal('SIGKILL');
    }, timeoutMs);
    void handle.exited.then((exit) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      lineListeners.clear();
      const reason = timedOut
        ? `did not become ready within ${timeoutMs} ms and was killed`
        : `exited (${describeExit(exit)}) before it was ready`;
      rejectReady(new ChildStartError(handle.name, handle.pid, reason, handle.output));
    });

    if ('readyWhen' in options) {
      const matches = toPredicate(options.readyWhen);
      if (handle.output.some(matches)) becameReady();
      else
        lineListeners.add((line) => {
          if (matches(line)) becameReady();
        });
      return;
    }
    const { probe, probeIntervalMs = 100 } = options;
    void (async () => {
      while (!settled && !timedOut) {
        if (await probe().catch(() => false)) becameReady();
        else await delay(probeIntervalMs);
      }
    })();
  });
}

function cleanEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function builtScript(path: string): string {
  const script = resolve(repoRoot, path);
  if (!existsSync(script)) {
    throw new Error(
      `${path} does not exist. The e2e globalSetup builds it with \`tsc -p tsconfig.build.json\`; ` +
        'was the build skipped with WXHUB_SKIP_BUILD=1?',
    );
  }
  return script;
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { event, url } = parsed as { event?: unknown; url?: unknown };
    return event === 'listening' && typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

function answersHttp(url: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const request = get(url, { agent: false, timeout: 1_000 }, (response) => {
      response.resume();
      resolveAnswer(true);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolveAnswer(false));
  });
}

function toPredicate(matcher: LineMatcher): (line: string) => boolean {
  return matcher instanceof RegExp ? (line) => matcher.test(line) : matcher;
}

function describeExit({ code, signal }: ChildExit): string {
  return signal === null ? `code ${String(code)}` : `signal ${signal}`;
}

function describeTail(output: readonly string[]): string {
  if (output.length === 0) return 'It printed nothing.';
  const tail = output.slice(-TAIL_LINES);
  const heading = tail.length < output.length ? `Last ${tail.length} of ${output.length} lines` : 'Output';
  return `${heading}:\n${tail.map((line) => `  | ${line}`).join('\n')}`;
}

function killSync(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * The registry lives on the real `process` so that one 'exit' listener serves every test file of a
 * Jest worker and runs even when Jest calls process.exit() (--forceExit, --bail, a crash).
 */
function liveResources(): Set<TrackedResource> {
  const host = hostProcess() as NodeJS.Process & { [REGISTRY]?: Set<TrackedResource> };
  const existing = host[REGISTRY];
  if (existing !== undefined) return existing;
  const created = new Set<TrackedResource>();
  host[REGISTRY] = created;
  host.once('exit', () => {
    for (const resource of created) resource.killNow();
  });
  return created;
}

/**
 * NOTE: inside a Jest test file `process` is a per-file copy whose 'exit' event never fires. A
 * function made by a core module's Function constructor is evaluated in Node's own realm, where
 * `process` is the real one. Outside Jest this is simply `process`.
 */
function hostProcess(): NodeJS.Process {
  const HostFunction = spawn.constructor as FunctionConstructor;
  return new HostFunction('return process')() as NodeJS.Process;
}
