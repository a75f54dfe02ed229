'use strict';
/**
 * What every benchmark shares: the build check, child servers (and a throw-away redis-server) that die with the
 * benchmark, readiness polling, loopback HTTP calls, CPU accounting from /proc, the report helpers (machine, git,
 * versions, the bench/RESULTS.md section writer), and the callback benchmarks' load: readiness through the URL check
 * and autocannon runs that send each push of a pool once.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');

const ROOT = path.resolve(__dirname, '../..');
const RESULTS_FILE = path.join(ROOT, 'bench/RESULTS.md');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const log = (message) => process.stdout.write(`${message}\n`);

// ---------------------------------------------------------------------------------------------------------------
// build

/** Builds dist/ when it is missing (or when `force`) and lists the sources newer than their compiled output. */
function ensureBuilt(force) {
  if (force || !fs.existsSync(path.join(ROOT, 'dist/main.js'))) {
    log('building dist/ (tsc -p tsconfig.build.json)…');
    const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the build failed');
  }
  const stale = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) {
        const out = path.join(ROOT, 'dist', path.relative(path.join(ROOT, 'src'), file)).replace(/\.ts$/, '.js');
        if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(file).mtimeMs) stale.push(path.relative(ROOT, file));
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  if (stale.length) log(`note: dist/ is older than ${stale.join(', ')} (rerun with --build to measure the working tree)`);
  return stale;
}

// ---------------------------------------------------------------------------------------------------------------
// child processes

const children = new Set();

function killChildren() {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/** A node child in the repository root; its last 8 kB of output are kept for error messages. */
function startChild(label, args, env, { ipc = false } = {}) {
  return startProcess(label, process.execPath, args, env, { ipc });
}

/** Any program as a child in the repository root (killed with the benchmark), its last 8 kB of output kept. */
function startProcess(label, command, args, env, { ipc = false } = {}) {
  const stdio = ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(command, args, { cwd: ROOT, env, stdio });
  child.label = label;
  child.output = '';
  const keep = (chunk) => {
    child.output = (child.output + chunk).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Polls `probe` every 100 ms until it is true; fails at once if the child exits, or after `timeoutMs`. */
async function waitFor(child, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.label} exited (${child.exitCode}):\n${child.output}`);
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.label} was not ready in ${timeoutMs / 1000} s:\n${child.output}`);
    await sleep(100);
  }
}

/** A throw-away redis-server (from PATH) on a free loopback port, no persistence; resolves once it answers PING. */
async function startRedis() {
  const port = await freePort();
  const child = startProcess('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    ...process.env,
  });
  child.port = port;
  await waitFor(
    child,
    () =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => socket.write('PING\r\n'));
        socket.once('data', (d) => {
          socket.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
        socket.once('error', () => resolve(false));
      }),
  );
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited (nothing to do without one). */
async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The caller's environment minus anything that would select other accounts, Redis or another mode — the hub's
 * variables and those the benchmarks' own child scripts read — plus `extra`.
 */
function baseEnv(extra = {}) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      /^(NODE_ENV|NODE_OPTIONS|REDIS_|WECHAT_|CALLBACK_|TOKEN_|UPSTREAM_|LOG_LEVEL|PORT|HOST|SANDBOX_|ADMIN_|TRUST_PROXY|SIM_URL|APP_|SECONDS|EXPIRES_AT|VERSION|MODE|HUB_URLS|KEY)/.test(key)
    )
      delete env[key];
  }
  return { ...env, ...extra };
}

function request(port, method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent: false, headers: body ? { 'content-type': 'text/xml' } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** An HTTP call on loopback with an optional JSON body: `{status, body, json}` (json undefined when not JSON). */
function requestJson(port, method, urlPath, headers = {}, body = undefined, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    if (body !== undefined) headers = { ...headers, 'content-type': 'application/json' };
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent: false, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(data);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, body: data, json });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const getJson = (port, urlPath, headers = {}) => requestJson(port, 'GET', urlPath, headers);

/** The "Notes:" block of a results section (nothing when there are none). */
const noteLines = (notes) => (notes.length ? ['', 'Notes:', ...notes.map((note) => `- ${note}`)] : []);

/** Waits until `child` (listening on `child.port`) answers the callback's URL check. */
async function waitReady(child, protocol) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.label} exited (${child.exitCode}):\n${child.output}`);
    try {
      const r = await request(child.port, 'GET', protocol.verificationPath('ready'));
      if (r.status === 200 && r.body === 'ready') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.label} did not answer the URL check in 30 s:\n${child.output}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): a server's CPU time per request, and the CPU other processes took meanwhile

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** A process's CPU time so far (user + system), in clock ticks (CLK_TCK per second); NaN once it is gone. */
function processTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN;
  }
}

function machineBusyTicks() {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    return user + nice + system + irq + softirq + steal;
  } catch {
    return NaN;
  }
}

/** `server` is measured; `own` are all processes of the benchmark (the servers; this process is added). */
function cpuSnapshot(server, own) {
  const pids = [process.pid, ...own.map((c) => c.pid)];
  return { at: process.hrtime.bigint(), busy: machineBusyTicks(), own: sum(pids.map(processTicks)), server: processTicks(server.pid) };
}

function cpuDelta(before, after, requests) {
  const seconds = Number(after.at - before.at) / 1e9;
  return {
    serverCpuUsPerRequest: requests ? Math.round((((after.server - before.server) / CLK_TCK) * 1e6) / requests) : NaN,
    // tick granularity can make this slightly negative on an idle machine
    otherCores: Math.max(0, +((after.busy - before.busy - (after.own - before.own)) / CLK_TCK / seconds).toFixed(2)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// load

function makePool(protocol, mode, size) {
  const pool = new Array(size);
  for (let i = 0; i < size; i++) pool[i] = protocol.makePush(mode);
  return pool;
}

/**
 * One autocannon run against `child`; each request takes the next unused push of `pool` (or builds a fresh one if
 * the pool ran dry, counted as `onTheFly`). Returns autocannon's figures plus CPU accounting.
 */
async function cannon({ child, own, protocol, mode, pool, seconds, connections }) {
  let next = 0;
  let onTheFly = 0;
  const before = cpuSnapshot(child, own);
  const result = await new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${child.port}`,
        connections,
        pipelining: 1,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        requests: [
          {
            setupRequest(req) {
              let push = pool[next];
              if (push) pool[next++] = undefined;
              else {
                push = protocol.makePush(mode);
                onTheFly++;
              }
              req.path = push.path;
              req.body = push.body;
              // a push may say its own content type (JSON pushes); the default above is XML's
              if (push.contentType) req.headers = { ...req.headers, 'content-type': push.contentType };
              return req;
            },
          },
        ],
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytesPerResponse: result.requests.total ? Math.round(result.throughput.total / result.requests.total) : 0,
    onTheFly,
    ...cpuDelta(before, cpuSnapshot(child, own), result.requests.total),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// report

function version(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function git(...args) {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '?';
}

function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? '?',
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Replaces the text between `start` and `end` in bench/RESULTS.md (appends it if absent), leaving the rest alone. */
function writeSection(start, end, section) {
  const block = `${start}\n${section}\n${end}`;
  let text = fs.existsSync(RESULTS_FILE) ? fs.readFileSync(RESULTS_FILE, 'utf8') : '# wxhub benchmarks\n';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from !== -1 && to > from) text = text.slice(0, from) + block + text.slice(to + end.length);
  else text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  fs.writeFileSync(RESULTS_FILE, text);
}

module.exports = {
  ROOT,
  RESULTS_FILE,
  sleep,
  sum,
  median,
  fmt,
  log,
  ensureBuilt,
  startChild,
  startProcess,
  waitFor,
  startRedis,
  stopChild,
  killChildren,
  freePort,
  baseEnv,
  request,
  requestJson,
  getJson,
  noteLines,
  waitReady,
  makePool,
  cannon,
  CLK_TCK,
  processTicks,
  cpuSnapshot,
  cpuDelta,
  version,
  git,
  machine,
  loadAverage,
  writeSection,
};
