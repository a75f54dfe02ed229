#!/usr/bin/env node
'use strict';
/* global require, process, __dirname, setTimeout, clearTimeout */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Upstream efficiency: how many /cgi-bin/token (or stable_token) calls a fleet of N instances makes, and how many
 * invalid tokens its callers get, for wxhub and for two hand-rolled baselines, over a scaled time window with
 * several rotations.
 *
 *   node bench/upstream/run.js [--instances=1,2,4,8] [--systems=stable,legacy,cache+timer] [--readers=50]
 *                              [--interval=250] [--lifetime=24] [--overlap=4] [--ahead=2] [--rotations=3.3]
 *                              [--build] [--no-write]
 *   node bench/upstream/run.js --render     (rewrites the section and the chart from last-run.json)
 *
 * For each N, a fresh simulator (dist/sandbox/main.js; token lifetime --lifetime s, overlap / stable rotation
 * window --overlap s, each system on its own app id) and, one group of --systems after another (the systems of a
 * group side by side; by default each wxhub fleet alone, then the two baselines together: 8 hubs booting, or
 * the baselines' load, beside a fleet's window slowed its readers enough to matter on a shared 2-core machine):
 *   stable  N hubs (dist/main.js, one redis-server, tokenEndpoint "stable", TOKEN_REFRESH_AHEAD_SECONDS=--ahead)
 *           and one reader process (instance.js MODE=hub) with --readers readers per hub;
 *   legacy  the same with tokenEndpoint "legacy" (like for like with the baselines);
 *   cache   N processes of instance.js MODE=cache (baseline a: per-instance cache, no coordination);
 *   timer   N processes of instance.js MODE=timer (baseline b: per-instance timer every lifetime/2).
 * Each reader obtains a token the system's way and uses it on WeChat (getcallbackip) every --interval ms (± 50 %);
 * "invalid" = a business call the simulator answered 40001/40014/42001. Each system's window starts at its first
 * upstream token call (seen by polling /sandbox/stats every 100 ms) and lasts --rotations × --lifetime seconds;
 * the upstream count is the simulator's at the end of the window. Theoretical minimum per account: the first
 * fetch + 1 per rotation in the window = 1 + floor(window / lifetime). Refreshing ahead of expiry shortens the
 * period between fetches to about lifetime − ahead, so --rotations must leave room for that: with the defaults
 * the 5th fetch of a system refreshing `ahead` early would come at ≥ 4 × (24 − 2.75) = 85 s, after the 79 s window.
 * Results: bench/RESULTS.md (between the upstream markers), bench/upstream/last-run.json, and the chart
 * bench/upstream/upstream-calls.svg (chart.js).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {
  ROOT,
  RESULTS_FILE,
  sleep,
  fmt,
  log,
  ensureBuilt,
  startChild,
  stopChild,
  freePort,
  waitFor,
  startRedis,
  version,
  git,
  machine,
  loadAverage,
  writeSection,
  baseEnv,
  getJson,
  noteLines,
} = require('../lib/harness');
const { renderChart } = require('./chart');

const JSON_FILE = path.join(__dirname, 'last-run.json');
const SVG_FILE = path.join(__dirname, 'upstream-calls.svg');
const START_MARK = '<!-- upstream:start -->';
const END_MARK = '<!-- upstream:end -->';
const KEY = 'bench-upstream-key-00000000000001';
const SYSTEMS = {
  stable: { label: 'wxhub (stable_token, default)', endpoint: 'stable' },
  legacy: { label: 'wxhub (tokenEndpoint "legacy")', endpoint: 'legacy' },
  cache: { label: 'baseline a: per-instance cache' },
  timer: { label: 'baseline b: per-instance timer' },
};

const options = parseArgs(process.argv.slice(2));

function parseArgs(argv) {
  const o = {
    instances: [1, 2, 4, 8],
    groups: [['stable'], ['legacy'], ['cache', 'timer']],
    readers: 50,
    interval: 250,
    lifetime: 24,
    overlap: 4,
    ahead: 2,
    rotations: 3.3,
    build: false,
    write: true,
  };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'build') o.build = true;
    else if (key === 'render') o.render = true;
    else if (key === 'no-write') o.write = false;
    else if (key === 'instances' && /^\d+(,\d+)*$/.test(value ?? ''))
      o.instances = value.split(',').map(Number);
    else if (key === 'systems' && (value ?? '').split(/[,+]/).every((s) => s in SYSTEMS))
      o.groups = value.split(',').map((g) => g.split('+'));
    else if (
      ['readers', 'interval', 'lifetime', 'overlap', 'ahead', 'rotations'].includes(key) &&
      Number(value) > 0
    )
      o[key] = Number(value);
    else throw new Error(`unknown option ${arg}`);
  }
  o.systems = o.groups.flat();
  if (!Number.isInteger(o.ahead))
    throw new Error('--ahead must be whole seconds (TOKEN_REFRESH_AHEAD_SECONDS is an integer)');
  // the hub plans a stable refresh up to 1.25 × ahead (jitter) + 250 ms before expiry; WeChat (the simulator)
  // rotates a stable token only once it has `overlap` seconds left, so an earlier call would be wasted
  if (o.systems.includes('stable') && o.overlap < 1.25 * o.ahead + 0.5) {
    throw new Error(
      `--overlap must be at least 1.25 × --ahead + 0.5 s, or the stable hubs refresh before WeChat rotates`,
    );
  }
  return o;
}

const windowMs = () => options.rotations * options.lifetime * 1000;
const theoreticalMinimum = () => 1 + Math.floor(options.rotations);
const appIdOf = (system, n) => `wxup${system.padEnd(6, '0')}${String(n).padStart(8, '0')}`;
const secretOf = (appId) => `secret${appId.slice(2)}0000000000`;

// ---------------------------------------------------------------------------------------------------------------
// servers

async function startSimulator(n) {
  const port = await freePort();
  const apps = options.systems.map((s) => ({ appId: appIdOf(s, n), appSecret: secretOf(appIdOf(s, n)) }));
  const sim = startChild(
    `simulator N=${n}`,
    ['dist/sandbox/main.js'],
    baseEnv({
      SANDBOX_PORT: String(port),
      SANDBOX_APPS: JSON.stringify(apps),
      SANDBOX_TOKEN_LIFETIME_SECONDS: String(options.lifetime),
      SANDBOX_OVERLAP_SECONDS: String(options.overlap),
      // count every call instead of capping them at WeChat's 2000 a day
      SANDBOX_LEGACY_DAILY_QUOTA: '1000000000',
    }),
  );
  sim.port = port;
  await waitFor(sim, async () => (await getJson(port, '/sandbox/stats')).status === 200);
  return sim;
}

/** First-seen time of each app's first token call, polling /sandbox/stats every 100 ms. */
function watchFirstCalls(sim) {
  const firstAt = new Map();
  const waiters = new Map();
  let stopped = false;
  (async () => {
    while (!stopped) {
      try {
        const { json } = await getJson(sim.port, '/sandbox/stats');
        for (const [appId, s] of Object.entries(json.byApp)) {
          if (!firstAt.has(appId) && s.token + s.stableToken > 0) {
            firstAt.set(appId, Date.now());
            waiters.get(appId)?.(firstAt.get(appId));
          }
        }
      } catch {
        // try again
      }
      await sleep(100);
    }
  })();
  return {
    first: (appId) =>
      firstAt.has(appId) ? Promise.resolve(firstAt.get(appId)) : new Promise((r) => waiters.set(appId, r)),
    stop: () => (stopped = true),
  };
}

/** One holder at a time: acquire() resolves to the release function. */
function mutex() {
  let tail = Promise.resolve();
  return {
    acquire() {
      let release;
      const held = new Promise((r) => (release = r));
      const turn = tail.then(() => release);
      tail = tail.then(() => held);
      return turn;
    },
  };
}

function startInstance(label, env) {
  const child = startChild(label, [path.join(__dirname, 'instance.js')], baseEnv(env), { ipc: true });
  const ready = new Promise((resolve, reject) => {
    child.on('message', (m) => m?.type === 'ready' && resolve());
    child.once('exit', (code) =>
      reject(new Error(`${label} exited (${code}) before it was ready:\n${child.output}`)),
    );
  });
  child.counts = new Promise((resolve) =>
    child.on('message', (m) => m?.type === 'counts' && resolve(m.counts)),
  );
  return { child, ready };
}

async function stopInstance(child) {
  if (child.exitCode !== null)
    throw new Error(`${child.label} died during the run (${child.exitCode}):\n${child.output}`);
  child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const counts = await Promise.race([child.counts, new Promise((r) => child.once('exit', () => r(null)))]);
  clearTimeout(timer);
  if (!counts) throw new Error(`${child.label} gave no counts:\n${child.output}`);
  await stopChild(child);
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// one system at one N

async function runSystem(system, n, sim, redis, watcher, startup) {
  const appId = appIdOf(system, n);
  const appSecret = secretOf(appId);
  const common = {
    SIM_URL: `http://127.0.0.1:${sim.port}`,
    APP_ID: appId,
    READERS: String(options.readers),
    INTERVAL_MS: String(options.interval),
  };
  // the systems run side by side, but boot one after another so that no cold start competes with another
  const release = await startup.acquire();
  const started = Date.now();
  const hubs = [];
  const instances = [];
  let readyAt;
  if (SYSTEMS[system].endpoint) {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const hub = startChild(
        `${system} hub ${i + 1}/${n}`,
        ['dist/main.js'],
        baseEnv({
          NODE_ENV: 'production',
          WECHAT_SANDBOX: 'false',
          LOG_LEVEL: 'warn',
          HOST: '127.0.0.1',
          PORT: String(port),
          WECHAT_API_BASE_URL: `http://127.0.0.1:${sim.port}`,
          WECHAT_ACCOUNTS: JSON.stringify([
            { appId, appSecret, token: 'benchupstreamtoken', tokenEndpoint: SYSTEMS[system].endpoint },
          ]),
          REDIS_URL: `redis://127.0.0.1:${redis.port}`,
          REDIS_KEY_PREFIX: `bench-${system}-${n}`,
          ADMIN_API_KEYS: KEY,
          TOKEN_REFRESH_AHEAD_SECONDS: String(options.ahead),
        }),
      );
      hub.port = port;
      hubs.push(hub);
    }
    const auth = { authorization: `Bearer ${KEY}` };
    await Promise.all(
      hubs.map((hub) =>
        waitFor(
          hub,
          async () => (await getJson(hub.port, `/api/v1/accounts/${appId}/token`, auth)).status === 200,
        ),
      ),
    );
    const readers = startInstance(`${system} readers`, {
      ...common,
      MODE: 'hub',
      HUB_URLS: hubs.map((h) => `http://127.0.0.1:${h.port}`).join(','),
      KEY,
    });
    instances.push(readers.child);
    await readers.ready;
  } else {
    const launched = [];
    for (let i = 0; i < n; i++) {
      const inst = startInstance(`${system} instance ${i + 1}/${n}`, {
        ...common,
        APP_SECRET: appSecret,
        MODE: system,
        REFRESH_AHEAD_SECONDS: String(options.ahead),
        TIMER_MS: String((options.lifetime * 1000) / 2),
      });
      instances.push(inst.child);
      launched.push(inst.ready);
    }
    await Promise.all(launched);
  }
  readyAt = Date.now();
  release();
  const t0 = await watcher.first(appId);
  await sleep(Math.max(0, t0 + windowMs() - Date.now()));
  const stats = (await getJson(sim.port, '/sandbox/stats')).json.byApp[appId];
  const endedAt = Date.now();
  const counts = await Promise.all(instances.map(stopInstance));
  await Promise.all(hubs.map(stopChild));
  const sumOf = (key) => counts.reduce((a, c) => a + c[key], 0);
  const invalidByCode = {};
  for (const c of counts)
    for (const [code, k] of Object.entries(c.invalidByCode))
      invalidByCode[code] = (invalidByCode[code] ?? 0) + k;
  const result = {
    system,
    n,
    appId,
    upstreamCalls: stats.token + stats.stableToken,
    upstream: stats,
    minimum: theoreticalMinimum(),
    windowSeconds: +((endedAt - t0) / 1000).toFixed(1),
    readersFromSecond: +((readyAt - t0) / 1000).toFixed(1),
    startupSeconds: +((readyAt - started) / 1000).toFixed(1),
    reads: sumOf('reads'),
    businessCalls: sumOf('businessCalls'),
    ok: sumOf('ok'),
    invalid: sumOf('invalid'),
    invalidByCode,
    getterFailures: sumOf('getterFailures'),
    otherErrors: sumOf('otherErrors'),
    reports: sumOf('reports'),
    instanceTokenFetches: sumOf('tokenFetches'),
  };
  log(
    `N=${n} ${system.padEnd(6)} upstream ${String(result.upstreamCalls).padStart(5)} (min ${result.minimum})  invalid ${String(result.invalid).padStart(6)} ${JSON.stringify(result.invalidByCode)} of ${fmt(result.businessCalls)} business calls  ` +
      `reads ${fmt(result.reads)}  getter failures ${result.getterFailures}  other errors ${result.otherErrors}  window ${result.windowSeconds} s, readers from ${result.readersFromSecond} s`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// report

function renderSection(run) {
  const m = run.machine;
  const lines = [
    '## Upstream efficiency: token calls and invalid tokens for N instances, wxhub vs hand-rolled baselines',
    '',
  ];
  lines.push(`- Date: ${run.date}`);
  lines.push(`- Command: \`${run.command}\` (took ${run.tookSeconds} s)`);
  lines.push(
    `- Machine: nproc ${m.nproc} (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, node ${m.node}; load average ${run.loadBefore} before, ${run.loadAfter} after`,
  );
  lines.push(
    `- Code: wxhub ${run.commit}${run.dirty ? ' + uncommitted changes in src/' : ''}, measured from dist/; @nestjs/core ${run.versions.nest}, ioredis ${run.versions.ioredis}, redis-server ${run.versions.redis}`,
  );
  const o = run.options;
  lines.push(
    `- Scaled time: token lifetime ${o.lifetime} s (WeChat: 7200 s), overlap / stable rotation window ${o.overlap} s (WeChat: 300 s), ` +
      `TOKEN_REFRESH_AHEAD_SECONDS=${o.ahead}; window ${o.rotations} × lifetime = ${(o.rotations * o.lifetime).toFixed(0)} s from each system's first token call, ` +
      `so the theoretical minimum is **${run.minimum}** upstream calls per account (first fetch + ${run.minimum - 1} rotations)`,
  );
  lines.push(
    `- Load: ${o.readers} readers per instance, each reading a token and using it on WeChat every ${o.interval} ms ± 50 %`,
  );
  lines.push('');
  lines.push('![upstream token calls vs instances](upstream/upstream-calls.svg)');
  lines.push('');
  lines.push(
    '| System | N | upstream token calls | theoretical minimum | × minimum | invalid tokens served | business calls | reads | no token / other errors |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of run.results) {
    const codes = Object.keys(r.invalidByCode).length
      ? ` (${Object.entries(r.invalidByCode)
          .map(([c, k]) => `${c}: ${fmt(k)}`)
          .join(', ')})`
      : '';
    lines.push(
      `| ${SYSTEMS[r.system].label} | ${r.n} | ${fmt(r.upstreamCalls)} | ${r.minimum} | ${(r.upstreamCalls / r.minimum).toFixed(2)} | ${fmt(r.invalid)}${codes} | ${fmt(r.businessCalls)} | ${fmt(r.reads)} | ${r.getterFailures} / ${r.otherErrors} |`,
    );
  }
  lines.push('');
  for (const system of run.options.systems.filter((s) => SYSTEMS[s].endpoint)) {
    const rows = run.results.filter((r) => r.system === system);
    const atMin = rows.every((r) => r.upstreamCalls === r.minimum);
    const noInvalid = rows.every((r) => r.invalid === 0);
    lines.push(
      `- ${SYSTEMS[system].label}: upstream calls ${rows.map((r) => `${r.upstreamCalls} at N=${r.n}`).join(', ')} — goal: the minimum (${run.minimum}) at every N: **${atMin ? 'met' : 'missed'}**; ` +
        `invalid tokens ${rows.map((r) => r.invalid).join(' / ')} — goal 0 at every N: **${noInvalid ? 'met' : 'missed'}**`,
    );
  }
  const rowsOf = (system) => run.results.filter((r) => r.system === system).sort((a, b) => a.n - b.n);
  const share = (r) => `${((r.invalid / Math.max(1, r.businessCalls)) * 100).toFixed(1)} %`;
  lines.push('');
  lines.push('Reading the table:');
  lines.push(
    '- wxhub: one fetch per rotation for the whole fleet, whatever N: the hubs share the token through Redis, one of them refreshes under a lock ahead of expiry ' +
      'and the others learn the new token from the store, so no caller is handed a token that WeChat has already replaced or expired.',
  );
  const cache = rowsOf('cache');
  if (cache.length) {
    lines.push(
      `- Baseline a (cache): ${cache.map((r) => `${r.upstreamCalls} calls at N=${r.n}`).join(', ')}. Even alone it exceeds the minimum: readers that find the cache expired while a fetch is in flight fetch too (no lock). ` +
        `From N=2 every instance's fetch rotates the legacy token, the other instances' copies stop working ${o.overlap} s later, their readers get 42001, they refetch and in turn retire the first one's token: ` +
        `invalid tokens served ${cache.map((r) => `${fmt(r.invalid)} (${share(r)})`).join(' / ')}.`,
    );
  }
  const timer = rowsOf('timer');
  if (timer.length) {
    lines.push(
      `- Baseline b (timer): each instance fetches 1 + floor(window / (lifetime / 2)) = ${1 + Math.floor((o.rotations * o.lifetime) / (o.lifetime / 2))} times whatever happens, so ${timer.map((r) => `${r.upstreamCalls} at N=${r.n}`).join(', ')}; ` +
        `from N=2 each fetch retires the other instances' tokens ${o.overlap} s later and they keep serving them until their own next tick: invalid ${timer.map((r) => `${fmt(r.invalid)} (${share(r)})`).join(' / ')}.`,
    );
  }
  lines.push('');
  lines.push('Method:');
  lines.push(
    '- One simulator (`dist/sandbox/main.js`) per N, each system on its own app id; the systems of one N run in groups, one group after another: ' +
      `${o.groups.map((g) => g.join(' + ')).join(', then ')} (a group's systems side by side, booted one after another; a fleet of 8 hubs booting, or the baselines' load, beside a fleet's window slowed its readers on this shared machine), each system with its own window. ` +
      'wxhub: N hubs (`dist/main.js`, `NODE_ENV=production LOG_LEVEL=warn`, one redis-server, its own key prefix per run) and one reader process whose readers call ' +
      '`GET /api/v1/accounts/:appId/token` on their hub (50 per hub) and report a token WeChat refused with `POST …/token/invalid`, as the README tells callers to.',
  );
  lines.push(
    '- Baselines (`bench/upstream/instance.js`, one process per instance, both on the legacy `/cgi-bin/token`, as such code usually is): ' +
      `(a) cache: fetches when its cache is empty or within ${o.ahead} s of \`expires_in\`, no lock, no sharing; a 40001/40014/42001 empties the cache and the call is retried once with a refetched token; ` +
      `(b) timer: fetches at start and then every lifetime / 2 = ${o.lifetime / 2} s ("every hour"), and its readers use whatever it fetched last.`,
  );
  lines.push(
    '- Every read ends with `GET /cgi-bin/getcallbackip?access_token=` on the simulator; "invalid tokens served" counts the business calls the simulator answered 40001/40014/42001 ' +
      "(its verdict, not the benchmark's). Upstream calls are the simulator's per-app counters (`/cgi-bin/token` + `/cgi-bin/stable_token`) at the end of the window; " +
      'the window starts when the simulator first counts a token call for the app (polled every 100 ms), so it includes the cold start (hub boot or first read).',
  );
  lines.push(
    '- Scaling: the overlap (how long a legacy token outlives its replacement, and how close to expiry a stable token must be before WeChat rotates it) is ' +
      `${((o.overlap / o.lifetime) * 100).toFixed(0)} % of the lifetime here against 4 % at WeChat: the hub plans a stable refresh up to 1.25 × ahead + 0.25 s before expiry ` +
      'and ahead is whole seconds, so the window must be a few seconds. A longer overlap keeps a replaced legacy token alive longer, which only spares the baselines invalid tokens.',
  );
  lines.push(
    '- The counts (upstream calls, invalid tokens) do not depend on machine speed; reads and business calls do (readers pause between reads and slow down with the machine), ' +
      'and the machine was shared with other work (load averages above).',
  );
  lines.push(
    `- Raw figures: \`bench/upstream/last-run.json\`; chart: \`node bench/upstream/chart.js\` redraws \`bench/upstream/upstream-calls.svg\` from it.`,
  );
  lines.push(...noteLines(run.notes));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  if (options.render) {
    // re-renders the section and the chart from the last run, without measuring
    const run = JSON.parse(fs.readFileSync(JSON_FILE, 'utf8'));
    fs.writeFileSync(SVG_FILE, renderChart(run));
    writeSection(START_MARK, END_MARK, renderSection(run));
    log(
      `re-rendered ${path.relative(ROOT, RESULTS_FILE)} and ${path.relative(ROOT, SVG_FILE)} from ${path.relative(ROOT, JSON_FILE)}`,
    );
    return;
  }
  const startedAt = Date.now();
  const stale = ensureBuilt(options.build);
  const loadBefore = loadAverage();
  log(
    `load average ${loadBefore}; window ${(windowMs() / 1000).toFixed(1)} s per system, theoretical minimum ${theoreticalMinimum()} calls`,
  );
  const redis = await startRedis();
  const results = [];
  const notes = [];
  try {
    for (const n of options.instances) {
      const sim = await startSimulator(n);
      const watcher = watchFirstCalls(sim);
      try {
        for (const group of options.groups) {
          const startup = mutex();
          results.push(
            ...(await Promise.all(group.map((system) => runSystem(system, n, sim, redis, watcher, startup)))),
          );
        }
      } finally {
        watcher.stop();
        await stopChild(sim);
      }
    }
  } finally {
    redis.kill('SIGTERM');
  }
  for (const r of results) {
    if (r.getterFailures || r.otherErrors)
      notes.push(
        `N=${r.n} ${r.system}: ${r.getterFailures} reads without a token, ${r.otherErrors} other errors.`,
      );
  }
  const run = {
    date: new Date().toUTCString(),
    command: ['node bench/upstream/run.js', ...process.argv.slice(2)].join(' '),
    tookSeconds: Math.round((Date.now() - startedAt) / 1000),
    options,
    minimum: theoreticalMinimum(),
    machine: machine(),
    loadBefore,
    loadAfter: loadAverage(),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'src') !== '',
    stale,
    versions: {
      nest: version('@nestjs/core'),
      ioredis: version('ioredis'),
      redis:
        (spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/) ?? [])[1] ??
        '?',
    },
    notes,
    results,
  };
  if (options.write) {
    fs.writeFileSync(JSON_FILE, JSON.stringify(run, null, 2) + '\n');
    fs.writeFileSync(SVG_FILE, renderChart(run));
    writeSection(START_MARK, END_MARK, renderSection(run));
    log(
      `wrote ${path.relative(ROOT, RESULTS_FILE)}, ${path.relative(ROOT, JSON_FILE)} and ${path.relative(ROOT, SVG_FILE)}`,
    );
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
