#!/usr/bin/env node
'use strict';
/* global require, process, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Read path: what reading a token costs.
 *
 *   node bench/read/run.js [--duration=10] [--warmup=3] [--rounds=3] [--connections=50] [--seconds=5]
 *                          [--build] [--no-write]
 *   node bench/read/run.js --render     (rewrites the section from last-run.json)
 *
 * 1. HTTP: autocannon against the hub's `GET /api/v1/accounts/:appId/token` at the default configuration
 *    (dist/main.js, NODE_ENV=production, LOG_LEVEL unset, with its key, one stable account, a real redis-server, the
 *    simulator as WeChat; scraped and probed once first, as in production) and against bare-fastify.js (a bare
 *    Fastify 5 route answering the same JSON), rounds alternated; floor hub ≥ 0.6 × bare (median req/s), aim 0.8.
 *    The same hub at LOG_LEVEL=warn and a minimal Nest app are measured alongside.
 * 2. In process: inprocess.js boots TokenModule (dist/index.js) on the same Redis and simulator and calls
 *    `TokenService.getAccessToken` in a tight loop for --seconds: calls/s (goal ≥ 2 million) and Redis commands
 *    per L1 hit from `INFO commandstats` (goal 0).
 * Results: bench/RESULTS.md (between the read markers) and bench/read/last-run.json.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const autocannon = require('autocannon');
const {
  ROOT,
  RESULTS_FILE,
  median,
  fmt,
  log,
  ensureBuilt,
  startChild,
  stopChild,
  freePort,
  waitFor,
  startRedis,
  cpuSnapshot,
  cpuDelta,
  version,
  git,
  machine,
  loadAverage,
  writeSection,
  baseEnv,
  getJson,
  noteLines,
} = require('../lib/harness');

const JSON_FILE = path.join(__dirname, 'last-run.json');
const START_MARK = '<!-- read:start -->';
const END_MARK = '<!-- read:end -->';
const GOAL_FLOOR = 0.6;
const GOAL_RATIO = 0.8;
const GOAL_CALLS_PER_SECOND = 2_000_000;
const KEY = 'bench-read-key-000000000000000001';
const ACCOUNT = { appId: 'wxbenchread0000001', appSecret: 'benchreadsecret000000000000000001' };
const TARGETS = ['hub', 'hubWarn', 'bare', 'nest'];
const LABELS = {
  hub: 'wxhub `GET /api/v1/accounts/:appId/token` (key check, L1 copy), default configuration (production, LOG_LEVEL info, Redis)',
  hubWarn: 'the same hub at LOG_LEVEL=warn',
  bare: 'bare Fastify 5 route, same JSON (bare-fastify.js)',
  nest: 'reference: minimal NestJS 11 + Fastify, same route, guard and pipe (bare-nest.js)',
};
const needsKey = (name) => name !== 'bare';

const options = parseArgs(process.argv.slice(2));

function parseArgs(argv) {
  const o = { duration: 10, warmup: 3, rounds: 3, connections: 50, seconds: 5, build: false, write: true };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'build') o.build = true;
    else if (key === 'render') o.render = true;
    else if (key === 'no-write') o.write = false;
    else if (['duration', 'warmup', 'rounds', 'connections', 'seconds'].includes(key) && Number(value) > 0)
      o[key] = Number(value);
    else throw new Error(`unknown option ${arg}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

function cannon(port, urlPath, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}${urlPath}`,
        connections: options.connections,
        pipelining: 1,
        duration: seconds,
        headers,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

const tokenPath = `/api/v1/accounts/${ACCOUNT.appId}/token`;

async function round(servers, name) {
  const server = servers[name];
  const own = [servers.hub, servers.hubWarn, servers.bare, servers.nest, servers.simulator];
  const before = cpuSnapshot(server, own);
  const r = await cannon(
    server.port,
    tokenPath,
    needsKey(name) ? { authorization: `Bearer ${KEY}` } : {},
    options.duration,
  );
  const cpu = cpuDelta(before, cpuSnapshot(server, own), r.requests.total);
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerResponse: r.requests.total ? Math.round(r.throughput.total / r.requests.total) : 0,
    ...cpu,
  };
}

function summarize(rounds) {
  const sumOf = (k) => rounds.reduce((a, r) => a + r[k], 0);
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    serverCpuUsPerRequest: median(rounds.map((r) => r.serverCpuUsPerRequest)),
    requests: sumOf('requests'),
    non2xx: sumOf('non2xx'),
    errors: sumOf('errors'),
    timeouts: sumOf('timeouts'),
    otherCoresMax: Math.max(...rounds.map((r) => r.otherCores)),
    rounds,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// report

/** Commands that could be per hit: the change-channel subscription is made once per process, whenever it happens. */
function perHitCommands(phase) {
  return Object.entries(phase.redisCommands ?? {})
    .filter(([command]) => command !== 'subscribe' && command !== 'psubscribe')
    .reduce((sum, [, count]) => sum + count, 0);
}

function renderSection(run) {
  const m = run.machine;
  const { hub, hubWarn, bare, nest } = run.http;
  const lines = [
    '## Read path: the token route vs a bare Fastify route, and `TokenService.getAccessToken` in process',
    '',
  ];
  lines.push(`- Date: ${run.date}`);
  lines.push(`- Command: \`${run.command}\` (took ${run.tookSeconds} s)`);
  lines.push(
    `- Machine: nproc ${m.nproc} (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, node ${m.node}; load average ${run.loadBefore} before, ${run.loadAfter} after`,
  );
  lines.push(
    `- Code: wxhub ${run.commit}${run.dirty ? ' + uncommitted changes in src/' : ''}, measured from dist/; @nestjs/core ${run.versions.nest}, fastify ${run.versions.fastify}, ioredis ${run.versions.ioredis}; autocannon ${run.versions.autocannon}`,
  );
  lines.push(
    `- Load: autocannon in the benchmark process, ${run.options.connections} connections, pipelining 1, ${run.options.warmup} s warm-up per server, then ${run.options.rounds} rounds × ${run.options.duration} s per server, alternating hub / hub at warn / bare / minimal Nest`,
  );
  lines.push('');
  lines.push(
    '| Server | req/s (median) | req/s per round | p50 ms | p99 ms | server CPU µs/req | requests | non-2xx | errors | timeouts |',
  );
  lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of TARGETS) {
    const s = run.http[name];
    lines.push(
      `| ${LABELS[name]} | ${fmt(s.rps)} | ${s.rounds.map((r) => fmt(r.rps)).join(' / ')} | ${s.p50} | ${s.p99} | ${s.serverCpuUsPerRequest} | ${fmt(s.requests)} | ${s.non2xx} | ${s.errors} | ${s.timeouts} |`,
    );
  }
  lines.push('');
  const perRound = hub.rounds.map((r, i) => (r.rps / bare.rounds[i].rps).toFixed(2)).join('× / ');
  const verdict = run.ratio >= GOAL_RATIO ? 'aim met' : run.ratio >= GOAL_FLOOR ? 'floor met, aim missed' : 'floor missed';
  lines.push(
    `- Token route at the default configuration: hub/bare = **${run.ratio.toFixed(2)}×** req/s (round by round ${perRound}×; server CPU per request bare/hub ${(bare.serverCpuUsPerRequest / hub.serverCpuUsPerRequest).toFixed(2)}×) — floor ${GOAL_FLOOR}×, aim ${GOAL_RATIO}×: **${verdict}**. ` +
      `Other processes on the machine used up to ${Math.max(hub.otherCoresMax, bare.otherCoresMax)} cores during a round.`,
  );
  lines.push(
    `- Framework floor: the minimal NestJS 11 + Fastify app with the same route, key check and ValidationPipe (no wxhub module) gets ${(nest.rps / bare.rps).toFixed(2)}× the bare route's req/s ` +
      `(${nest.serverCpuUsPerRequest} vs ${bare.serverCpuUsPerRequest} µs CPU per request); the hub gets ${(hub.rps / nest.rps).toFixed(2)}× the minimal Nest app's req/s (${hub.serverCpuUsPerRequest} vs ${nest.serverCpuUsPerRequest} µs).`,
  );
  if (hubWarn) {
    lines.push(
      `- At \`LOG_LEVEL=warn\`: ${(hubWarn.rps / bare.rps).toFixed(2)}× the bare route's req/s (${hubWarn.serverCpuUsPerRequest} µs CPU per request), against ${run.ratio.toFixed(2)}× (${hub.serverCpuUsPerRequest} µs) at the default info. ` +
        'A successful read writes no log line at either level (it is counted in `wxhub_token_reads_total` and a per-key summary a minute), so the two should be equal within noise.',
    );
  }
  lines.push(
    '- History of this ratio: 0.73× when the route was a Nest controller, 0.42× once structured request logging came, 0.52× answered ahead of Fastify but still through a promise and an async logging context per request (commit 33fbb45), 1.08× at warn / 0.67× at info answered synchronously ahead of Fastify (8bb04ad; 0.72× / 0.45× in a later measurement on the default configuration). ' +
      'Now an ordinary Fastify route: the async context tracking that request logging switches on makes every promise and async resource of the process cost more, and a read answered from memory creates none.',
  );
  if (run.ratio < GOAL_RATIO) {
    lines.push(
      `- What the hub pays beyond the bare route: Nest's four global onRequest hooks and middie's, the request id (a UUID when the caller sends none) and its header, Fastify's request logging (a child logger object per request, its pino child made only when the request logs), the key lookup, allow-list and failed-auth checks, and the read counter. ` +
        'Profile it (`node --cpu-prof dist/main.js` under autocannon) to see what else the machine spent the time on.',
    );
  }
  const [def, hits] = run.inProcess.phases;
  lines.push(
    `- In process, L1 hits only (\`l1TtlMs\` 1 h): **${fmt(hits.callsPerSecond)} calls/s** of wall time (${hits.nsPerCall} ns per call, ${fmt(hits.calls)} calls in ${hits.seconds} s), ` +
      `${fmt(hits.callsPerCpuSecond)} per CPU second (${hits.cpuNsPerCall} ns of CPU per call; the loop got ${(hits.cpuSeconds / hits.seconds).toFixed(2)} of a core) — goal ≥ 2 million/s: **${hits.callsPerSecond >= GOAL_CALLS_PER_SECOND ? 'met' : hits.callsPerCpuSecond >= GOAL_CALLS_PER_SECOND ? 'met per CPU second, missed in wall time on this shared machine' : 'missed'}**; ` +
      `Redis commands meanwhile: **${hits.totalCommands}**${hits.totalCommands ? ` (${JSON.stringify(hits.redisCommands)})` : ''} — goal 0 per hit: **${perHitCommands(hits) === 0 ? 'met' : 'missed'}**${perHitCommands(hits) === hits.totalCommands ? '' : ' (a SUBSCRIBE of the change channel, once per process, is not a command per hit)'}.`,
  );
  lines.push(
    `- In process, default \`l1TtlMs\` (3 s): ${fmt(def.callsPerSecond)} calls/s, ${fmt(def.callsPerCpuSecond)} per CPU second (${fmt(def.calls)} calls in ${def.seconds} s); Redis commands meanwhile: ${def.totalCommands} ` +
      `${def.totalCommands ? `(${JSON.stringify(def.redisCommands)}) ` : ''}= ${def.commandsPerCall.toExponential(1)} per call: the re-check of the in-process copy against the store every 3 s (one read per account per 3 s, whatever the call rate), never one per hit. ` +
      `Every call returned the warmed token (${def.tokenChanged + hits.tokenChanged} differed).`,
  );
  lines.push('');
  lines.push('Method:');
  lines.push(
    '- One simulator (`dist/sandbox/main.js`), one redis-server, two hubs (`dist/main.js`, `NODE_ENV=production`, LOG_LEVEL unset (info) and `warn`, one stable account, `REDIS_URL` with one key prefix, so the same token, `ADMIN_API_KEYS`) and `bench/read/bare-fastify.js` ' +
      '(Fastify 5, the same route answering the same JSON from a constant: no key check, no Nest, no store). Before timing both must answer the same token and the hub must refuse a wrong key ' +
      `(${JSON.stringify(run.checks)}); bodies were ${hub.rounds[0].bytesPerResponse} vs ${bare.rounds[0].bytesPerResponse} bytes per response including headers.`,
  );
  lines.push(
    "- The token route is the Nest controller route with its own Fastify onRequest hook (TokenReadHook), which runs after every global hook: a key the hub has already verified (a map of accepted headers; a new key gets SHA-256 + timingSafeEqual first) and the token in its in-process (L1) copy are answered there, synchronously, with the request id echoed and the JSON reused while the token and its `expires_in` are the same; anything else goes on to the guard and controller (promise, logging context, errors). " +
      "Both hubs were scraped (`/metrics`) and probed (`/health/ready`) once before the warm-up, as a production hub is. The table gives the median of the rounds' average req/s and p50/p99, " +
      "and each server's CPU time (/proc) per request. Rates depend on the machine, which was shared with other work (load averages above): compare the ratio and CPU per request, not the absolute figures.",
  );
  lines.push(
    '- In process: `bench/read/inprocess.js` builds a Nest application context with `TokenModule.forRoot({accounts, redis, apiBaseUrl, l1TtlMs})` from `dist/index.js`, warms the account (first fetch, then 200,000 calls), ' +
      `and calls \`await tokens.getAccessToken(appId)\` in a tight loop for ${run.options.seconds} s, once with the default \`l1TtlMs\` and once with 1 h, each in a fresh context. ` +
      'Redis `INFO commandstats` is read before and after each loop; the INFO calls themselves are left out. Raw figures: `bench/read/last-run.json`.',
  );
  lines.push(...noteLines(run.notes));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  if (options.render) {
    // re-renders the section from the last run, without measuring
    writeSection(START_MARK, END_MARK, renderSection(JSON.parse(fs.readFileSync(JSON_FILE, 'utf8'))));
    log(`re-rendered ${path.relative(ROOT, RESULTS_FILE)} from ${path.relative(ROOT, JSON_FILE)}`);
    return;
  }
  const startedAt = Date.now();
  const stale = ensureBuilt(options.build);
  const loadBefore = loadAverage();
  log(`load average ${loadBefore}`);
  const redis = await startRedis();
  const servers = {};
  const notes = [];
  try {
    const simPort = await freePort();
    servers.simulator = startChild(
      'simulator',
      ['dist/sandbox/main.js'],
      baseEnv({ SANDBOX_PORT: String(simPort), SANDBOX_APPS: JSON.stringify([ACCOUNT]) }),
    );
    servers.simulator.port = simPort;
    await waitFor(servers.simulator, async () => (await getJson(simPort, '/sandbox/stats')).status === 200);

    const auth = { authorization: `Bearer ${KEY}` };
    const scraped = {};
    // both hubs share the key prefix, hence the token; each is scraped and probed once before it is measured, as
    // a production hub is (Fastify's request logging then runs, and with it the async context tracking that every
    // later request of the process pays for)
    for (const [name, level] of [
      ['hub', undefined],
      ['hubWarn', 'warn'],
    ]) {
      const port = await freePort();
      servers[name] = startChild(
        name,
        ['dist/main.js'],
        baseEnv({
          NODE_ENV: 'production',
          WECHAT_SANDBOX: 'false',
          ...(level === undefined ? {} : { LOG_LEVEL: level }),
          HOST: '127.0.0.1',
          PORT: String(port),
          WECHAT_API_BASE_URL: `http://127.0.0.1:${simPort}`,
          WECHAT_ACCOUNTS: JSON.stringify([{ ...ACCOUNT, token: 'benchreadtoken', tokenEndpoint: 'stable' }]),
          REDIS_URL: `redis://127.0.0.1:${redis.port}`,
          REDIS_KEY_PREFIX: 'bench-read-hub',
          ADMIN_API_KEYS: KEY,
        }),
      );
      servers[name].port = port;
      await waitFor(servers[name], async () => (await getJson(port, tokenPath, auth)).status === 200);
      scraped[`${name} /metrics`] = (await getJson(port, '/metrics')).status;
      scraped[`${name} /health/ready`] = (await getJson(port, '/health/ready')).status;
    }
    const hubPort = servers.hub.port;
    const hubToken = (await getJson(hubPort, tokenPath, auth)).json;

    const barePort = await freePort();
    servers.bare = startChild(
      'bare fastify',
      [path.join(__dirname, 'bare-fastify.js')],
      baseEnv({
        PORT: String(barePort),
        TOKEN: hubToken.access_token,
        EXPIRES_AT: String(Date.parse(hubToken.expires_at)),
        VERSION: String(hubToken.version),
      }),
    );
    servers.bare.port = barePort;
    await waitFor(servers.bare, async () => (await getJson(barePort, tokenPath)).status === 200);

    const nestPort = await freePort();
    servers.nest = startChild(
      'bare nest',
      [path.join(__dirname, 'bare-nest.js')],
      baseEnv({
        PORT: String(nestPort),
        KEY,
        TOKEN: hubToken.access_token,
        EXPIRES_AT: String(Date.parse(hubToken.expires_at)),
        VERSION: String(hubToken.version),
      }),
    );
    servers.nest.port = nestPort;
    await waitFor(servers.nest, async () => (await getJson(nestPort, tokenPath, auth)).status === 200);
    const nestAnswer = await getJson(nestPort, tokenPath, auth);
    const nestWrongKey = await getJson(nestPort, tokenPath, {
      authorization: 'Bearer not-the-key-0000000000000000',
    });
    if (nestAnswer.json.access_token !== hubToken.access_token || nestWrongKey.status !== 401) {
      throw new Error(
        `bare-nest.js does not behave like the hub: ${nestAnswer.status} / wrong key ${nestWrongKey.status}`,
      );
    }

    const hubAgain = await getJson(hubPort, tokenPath, auth);
    const bareAnswer = await getJson(barePort, tokenPath);
    const wrongKey = await getJson(hubPort, tokenPath, {
      authorization: 'Bearer not-the-key-0000000000000000',
    });
    if (
      hubAgain.json.access_token !== bareAnswer.json.access_token ||
      Object.keys(hubAgain.json).join() !== Object.keys(bareAnswer.json).join()
    ) {
      throw new Error(
        `the bare route does not answer what the hub does: ${Object.keys(hubAgain.json)} vs ${Object.keys(bareAnswer.json)}`,
      );
    }
    if (wrongKey.status !== 401) throw new Error(`the hub answered ${wrongKey.status} to a wrong key`);
    const warnAnswer = await getJson(servers.hubWarn.port, tokenPath, auth);
    if (warnAnswer.json.access_token !== hubToken.access_token) throw new Error('the two hubs answer different tokens');
    const checks = {
      hub: hubAgain.status,
      'hub at warn': warnAnswer.status,
      bare: bareAnswer.status,
      nest: nestAnswer.status,
      'hub, wrong key': wrongKey.status,
      'nest, wrong key': nestWrongKey.status,
      ...scraped,
    };

    for (const name of TARGETS) {
      log(`warming up ${name} for ${options.warmup} s…`);
      await cannon(servers[name].port, tokenPath, needsKey(name) ? auth : {}, options.warmup);
    }
    const rounds = Object.fromEntries(TARGETS.map((name) => [name, []]));
    for (let i = 1; i <= options.rounds; i++) {
      for (const name of TARGETS) {
        const r = await round(servers, name);
        rounds[name].push(r);
        log(
          `round ${i} ${name.padEnd(7)} ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  CPU ${r.serverCpuUsPerRequest} µs/req  non-2xx ${r.non2xx}  errors ${r.errors}  other cores ${r.otherCores}`,
        );
      }
    }
    const http = Object.fromEntries(TARGETS.map((name) => [name, summarize(rounds[name])]));
    const ratio = http.hub.rps / http.bare.rps;
    log(
      `token route: hub ${fmt(http.hub.rps)} vs bare ${fmt(http.bare.rps)} req/s = ${ratio.toFixed(2)}× (floor ${GOAL_FLOOR}×, aim ${GOAL_RATIO}×); at LOG_LEVEL=warn ${(http.hubWarn.rps / http.bare.rps).toFixed(2)}×`,
    );
    for (const [name, s] of Object.entries(http)) {
      if (s.non2xx || s.errors || s.timeouts)
        notes.push(`${name}: ${s.non2xx} non-2xx, ${s.errors} errors, ${s.timeouts} timeouts.`);
    }
    await stopChild(servers.bare);
    await stopChild(servers.nest);
    await stopChild(servers.hub);
    await stopChild(servers.hubWarn);

    log(`in process: getAccessToken for ${options.seconds} s per phase…`);
    const child = spawnSync(process.execPath, [path.join(__dirname, 'inprocess.js')], {
      cwd: ROOT,
      env: baseEnv({
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        SIM_URL: `http://127.0.0.1:${simPort}`,
        APP_ID: ACCOUNT.appId,
        APP_SECRET: ACCOUNT.appSecret,
        SECONDS: String(options.seconds),
      }),
      encoding: 'utf8',
      timeout: (options.seconds * 2 + 120) * 1000,
    });
    if (child.status !== 0) throw new Error(`inprocess.js failed (${child.status}):\n${child.stderr}`);
    const inProcess = JSON.parse(child.stdout.trim().split('\n').pop());
    for (const p of inProcess.phases) {
      log(
        `in process (${p.name}, l1TtlMs ${p.l1TtlMs}): ${fmt(p.callsPerSecond)} calls/s, ${p.nsPerCall} ns/call, ${fmt(p.callsPerCpuSecond)} per CPU second, Redis commands ${p.totalCommands} ${JSON.stringify(p.redisCommands)}`,
      );
    }

    const run = {
      date: new Date().toUTCString(),
      command: ['node bench/read/run.js', ...process.argv.slice(2)].join(' '),
      tookSeconds: Math.round((Date.now() - startedAt) / 1000),
      options,
      machine: machine(),
      loadBefore,
      loadAfter: loadAverage(),
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: git('status', '--porcelain', '--', 'src') !== '',
      stale,
      versions: {
        nest: version('@nestjs/core'),
        fastify: version('fastify'),
        ioredis: version('ioredis'),
        autocannon: version('autocannon'),
      },
      checks,
      ratio,
      http,
      inProcess,
      notes,
    };
    if (options.write) {
      fs.writeFileSync(JSON_FILE, JSON.stringify(run, null, 2) + '\n');
      writeSection(START_MARK, END_MARK, renderSection(run));
      log(`wrote ${path.relative(ROOT, RESULTS_FILE)} and ${path.relative(ROOT, JSON_FILE)}`);
    }
  } finally {
    await Promise.all(Object.values(servers).map(stopChild));
    redis.kill('SIGTERM');
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
