#!/usr/bin/env node
'use strict';
/* global require, process, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Gateway benchmark: what the hub's HTTP gateway costs on top of WeChat (the simulator).
 *
 *   node bench/gateway/run.js [--duration=10] [--warmup=3] [--rounds=3] [--connections=50] [--latency=0,20]
 *                             [--build] [--no-write]
 *   node bench/gateway/run.js --render     (rewrites the section from last-run.json)
 *
 * Starts the simulator (dist/sandbox/main.js) and a hub (dist/main.js, one stable account, in-memory store) in
 * front of it, checks that both answer getcallbackip with an ip_list, warms each target up, then runs autocannon
 * rounds alternating
 *   hub:    GET /gateway/<appId>/cgi-bin/getcallbackip            (API key; the hub injects its token)
 *   direct: GET /cgi-bin/getcallbackip?access_token=<that token>  (straight to the simulator)
 *   bare:   GET / on bare-proxy.js (node:http + undici, nothing else): the floor any Node proxy starts from
 * with the same settings, and reports the gateway's throughput overhead (goal ≤ 25 %) with p50/p99 latency.
 * Each scenario of --latency gives WeChat (the simulator's getcallbackip) that many milliseconds of latency, as
 * a latency fault: 0 measures pure CPU cost on this machine, a few tens of milliseconds what a caller sees against
 * api.weixin.qq.com, which answers over the network.
 * The simulator's own counters must show one business call per request the hub answered (no cache, no
 * shortcut). Results go to bench/RESULTS.md (between the gateway markers) and bench/gateway/last-run.json.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const RESULTS_FILE = path.join(ROOT, 'bench/RESULTS.md');
const JSON_FILE = path.join(__dirname, 'last-run.json');
const START_MARK = '<!-- gateway:start -->';
const END_MARK = '<!-- gateway:end -->';
const GOAL_OVERHEAD = 0.25;
const ACCOUNT = { appId: 'wxbenchgateway0001', appSecret: 'benchgatewaysecret00000000000001' };
const KEY = 'bench-gateway-key-0000000000000001';
const WECHAT_PATH = '/cgi-bin/getcallbackip';
const TARGETS = ['hub', 'direct', 'bare'];
const LABELS = {
  hub: 'through the hub gateway',
  direct: 'direct to the simulator',
  bare: 'reference: bare Node proxy (bare-proxy.js)',
};

const options = parseArgs(process.argv.slice(2));

function parseArgs(argv) {
  const o = { duration: 10, warmup: 3, rounds: 3, connections: 50, latency: [0, 20], build: false, write: true };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'build') o.build = true;
    else if (key === 'render') o.render = true;
    else if (key === 'no-write') o.write = false;
    else if (key === 'latency' && /^\d+(,\d+)*$/.test(value ?? '')) o.latency = value.split(',').map(Number);
    else if (['duration', 'warmup', 'rounds', 'connections'].includes(key) && Number(value) > 0) o[key] = Number(value);
    else throw new Error(`unknown option ${arg}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// build


// ---------------------------------------------------------------------------------------------------------------
// child processes: the callback benchmark's harness

const harness = require('../lib/harness');
const { stopChild, freePort, baseEnv, killChildren, version, git, machine, fmt, log, writeSection, noteLines } = harness;
const request = harness.requestJson;
const waitFor = (child, probe) => harness.waitFor(child, probe, 30_000);
const startChild = (name, script, env) => harness.startChild(name, [script], env);

async function startServers() {
  const [simPort, hubPort] = [await freePort(), await freePort()];
  const simulator = startChild('simulator', 'dist/sandbox/main.js', {
    ...baseEnv(),
    SANDBOX_PORT: String(simPort),
    SANDBOX_APPS: JSON.stringify([ACCOUNT]),
  });
  simulator.port = simPort;
  await waitFor(simulator, async () => (await request(simPort, 'GET', '/sandbox/stats')).status === 200);
  const hub = startChild('hub', 'dist/main.js', {
    ...baseEnv(),
    NODE_ENV: 'production',
    WECHAT_SANDBOX: 'false',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(hubPort),
    WECHAT_API_BASE_URL: `http://127.0.0.1:${simPort}`,
    WECHAT_ACCOUNTS: JSON.stringify([{ ...ACCOUNT, token: 'benchcallbacktoken', tokenEndpoint: 'stable' }]),
    ADMIN_API_KEYS: KEY,
  });
  hub.port = hubPort;
  await waitFor(hub, async () => (await request(hubPort, 'GET', '/health')).status > 0);
  return { simulator, hub };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/** WeChat's latency for the benchmarked call: a persistent latency fault on the simulator (none for 0). */
async function setLatency(simulator, ms) {
  await request(simulator.port, 'DELETE', '/sandbox/faults');
  if (ms === 0) return;
  const r = await request(simulator.port, 'POST', '/sandbox/faults', {}, { kind: 'latency', latencyMs: ms, paths: [WECHAT_PATH] });
  if (r.status !== 200) throw new Error(`the simulator refused the latency fault: ${r.status} ${r.body}`);
}


async function simulatorStats(simulator) {
  return (await request(simulator.port, 'GET', '/sandbox/stats')).json;
}

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): each process's CPU time per request

const { CLK_TCK, processTicks } = harness;

function cpuSnapshot(servers) {
  return {
    hub: processTicks(servers.hub.pid),
    bare: servers.bare ? processTicks(servers.bare.pid) : NaN,
    simulator: processTicks(servers.simulator.pid),
    cannon: processTicks(process.pid),
  };
}

/** CPU µs per answered request of the proxy under test (hub or bare proxy; 0 for direct), the simulator and autocannon. */
function cpuPerRequest(name, before, after, requests) {
  const us = (proc) => (requests ? Math.round((((after[proc] - before[proc]) / CLK_TCK) * 1e6) / requests) : NaN);
  return { proxy: name === 'direct' ? 0 : us(name), simulator: us('simulator'), loadGenerator: us('cannon') };
}

// ---------------------------------------------------------------------------------------------------------------
// load

const autocannon = require('autocannon');

function target(servers, name, token) {
  if (name === 'hub') {
    return { port: servers.hub.port, path: `/gateway/${ACCOUNT.appId}${WECHAT_PATH}`, headers: { authorization: `Bearer ${KEY}` } };
  }
  if (name === 'bare') return { port: servers.bare.port, path: '/', headers: {} };
  return { port: servers.simulator.port, path: `${WECHAT_PATH}?access_token=${encodeURIComponent(token)}`, headers: {} };
}

/** The reference proxy (bare-proxy.js), started once the hub's token is known. */
async function startBareProxy(servers, token) {
  const port = await freePort();
  const bare = startChild('bare proxy', path.join(__dirname, 'bare-proxy.js'), {
    ...baseEnv(),
    PORT: String(port),
    UPSTREAM: `http://127.0.0.1:${servers.simulator.port}`,
    UPSTREAM_PATH: `${WECHAT_PATH}?access_token=${encodeURIComponent(token)}`,
  });
  bare.port = port;
  await waitFor(bare, async () => (await request(port, 'GET', '/')).status === 200);
  return bare;
}

function cannon(t, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${t.port}${t.path}`,
        connections: options.connections,
        pipelining: 1,
        duration: seconds,
        headers: t.headers,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** One timed round: autocannon figures, CPU per request, and the simulator's business calls meanwhile. */
async function round(servers, name, token) {
  const statsBefore = await simulatorStats(servers.simulator);
  const cpuBefore = cpuSnapshot(servers);
  const result = await cannon(target(servers, name, token), options.duration);
  const cpuAfter = cpuSnapshot(servers);
  const statsAfter = await simulatorStats(servers.simulator);
  const requests = result.requests.total;
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    upstreamBusinessCalls: statsAfter.byApp[ACCOUNT.appId].business - statsBefore.byApp[ACCOUNT.appId].business,
    upstreamTokenCalls:
      statsAfter.byApp[ACCOUNT.appId].stableToken +
      statsAfter.byApp[ACCOUNT.appId].token -
      statsBefore.byApp[ACCOUNT.appId].stableToken -
      statsBefore.byApp[ACCOUNT.appId].token,
    cpuUsPerRequest: cpuPerRequest(name, cpuBefore, cpuAfter, requests),
  };
}

/** Both targets must answer the simulator's ip_list; the hub must refuse a call without its key. */
async function check(servers, token) {
  const observed = {};
  for (const name of TARGETS) {
    const t = target(servers, name, token);
    const r = await request(t.port, 'GET', t.path, t.headers);
    if (r.status !== 200 || !Array.isArray(r.json?.ip_list)) throw new Error(`${name}: expected an ip_list, got ${r.status} ${r.body.slice(0, 300)}`);
    observed[name] = r.status;
  }
  const t = target(servers, 'hub', token);
  const refused = await request(t.port, 'GET', t.path);
  if (refused.status !== 401) throw new Error(`the hub answered ${refused.status} to a call without its key`);
  observed['hub without key'] = refused.status;
  return observed;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sum = (values) => values.reduce((a, b) => a + b, 0);

function summarize(rounds) {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    requests: sum(rounds.map((r) => r.requests)),
    non2xx: sum(rounds.map((r) => r.non2xx)),
    errors: sum(rounds.map((r) => r.errors)),
    timeouts: sum(rounds.map((r) => r.timeouts)),
    upstreamBusinessCalls: sum(rounds.map((r) => r.upstreamBusinessCalls)),
    upstreamTokenCalls: sum(rounds.map((r) => r.upstreamTokenCalls)),
    cpuUsPerRequest: {
      proxy: median(rounds.map((r) => r.cpuUsPerRequest.proxy)),
      simulator: median(rounds.map((r) => r.cpuUsPerRequest.simulator)),
      loadGenerator: median(rounds.map((r) => r.cpuUsPerRequest.loadGenerator)),
    },
    rounds,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// report

function scenarioTitle(scenario) {
  return scenario.latencyMs === 0
    ? 'WeChat answering at once (0 ms): pure CPU cost on this machine'
    : `WeChat answering in ${scenario.latencyMs} ms (a network round trip)`;
}

function renderScenario(lines, scenario) {
  const { hub, direct, bare } = scenario.stats;
  lines.push(`### ${scenarioTitle(scenario)}`);
  lines.push('');
  lines.push('| Target | req/s (median) | req/s per round | p50 ms | p99 ms | requests | non-2xx | errors | timeouts | CPU µs/req: proxy / simulator / autocannon |');
  lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---|');
  for (const name of TARGETS) {
    const s = scenario.stats[name];
    const cpu = s.cpuUsPerRequest;
    lines.push(
      `| ${LABELS[name]} | ${fmt(s.rps)} | ${s.rounds.map((r) => fmt(r.rps)).join(' / ')} | ${s.p50} | ${s.p99} | ${fmt(s.requests)} | ${s.non2xx} | ${s.errors} | ${s.timeouts} | ${name === 'direct' ? '–' : cpu.proxy} / ${cpu.simulator} / ${cpu.loadGenerator} |`,
    );
  }
  lines.push('');
  const verdict = scenario.overhead <= GOAL_OVERHEAD ? 'met' : 'missed';
  lines.push(
    `- Gateway overhead: **${(scenario.overhead * 100).toFixed(1)} %** fewer requests/s than direct (hub/direct = ${scenario.ratio.toFixed(2)}×), ` +
      `p50 ${hub.p50} vs ${direct.p50} ms, p99 ${hub.p99} vs ${direct.p99} ms — goal ≤ ${GOAL_OVERHEAD * 100} %: **${verdict}**`,
  );
  lines.push(
    `- Reference: the bare Node proxy (no framework, no auth, no checks) loses **${(scenario.bareOverhead * 100).toFixed(1)} %** against direct ` +
      `(p50 ${bare.p50} ms, p99 ${bare.p99} ms); the hub gets ${((hub.rps / bare.rps) * 100).toFixed(0)} % of its throughput.`,
  );
  lines.push(
    `- Every hub request reached WeChat: the simulator counted ${fmt(hub.upstreamBusinessCalls)} business calls for the account during the hub rounds ` +
      `for ${fmt(hub.requests)} answered requests (autocannon also counts requests still in flight when a round ends), and ${hub.upstreamTokenCalls} token calls.`,
  );
  lines.push('');
}

function renderSection(run) {
  const m = run.machine;
  const lines = [];
  lines.push('## Gateway: `GET /gateway/:appId/cgi-bin/getcallbackip` through the hub vs straight to WeChat (simulator)');
  lines.push('');
  lines.push(`- Date: ${run.date}`);
  lines.push(`- Command: \`${run.command}\``);
  lines.push(
    `- Machine: nproc ${m.nproc} (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, node ${m.node}; load average ${run.loadBefore} before, ${run.loadAfter} after`,
  );
  lines.push(
    `- Code: wxhub ${run.commit}${run.dirty ? ' + uncommitted changes in the working tree' : ''}, measured from dist/` +
      (run.stale.length ? ` (built before the latest edits of ${run.stale.join(', ')})` : '') +
      `; @nestjs/core ${run.versions.nest}, fastify ${run.versions.fastify}, undici ${run.versions.undici}; autocannon ${run.versions.autocannon}`,
  );
  lines.push(
    `- Load: autocannon, ${run.options.connections} connections, pipelining 1; per scenario ${run.options.warmup} s warm-up per target, then ${run.options.rounds} rounds × ${run.options.duration} s per target, alternating hub / direct / bare proxy`,
  );
  lines.push('');
  for (const scenario of run.scenarios) renderScenario(lines, scenario);
  lines.push('Method:');
  lines.push(
    `- One simulator (\`dist/sandbox/main.js\`) and one hub (\`dist/main.js\`, \`NODE_ENV=production LOG_LEVEL=warn\`, one stable account, embedded in-memory store, ` +
      '`WECHAT_API_BASE_URL` = the simulator) on the same machine as autocannon: ' +
      `${run.machine.nproc} cores shared by three busy processes during hub and bare-proxy rounds (load generator, proxy, simulator), two during direct rounds.`,
  );
  lines.push(
    '- WeChat\'s latency: the simulator delays its getcallbackip answer by the scenario\'s milliseconds (a persistent `latency` fault), for every target alike. ' +
      'With 0 ms the figures measure CPU only: a proxy does an HTTP server\'s and an HTTP client\'s work per request on the same two cores the simulator and the load generator use, ' +
      'so no proxy comes near the direct rate (see the bare proxy). With a network-like latency the connections spend their time waiting for WeChat, as they do in production, ' +
      'and the figures show what the gateway adds for a caller.',
  );
  lines.push(
    '- Hub rounds: `GET /gateway/<appId>/cgi-bin/getcallbackip` with `Authorization: Bearer <key>`: key check (SHA-256 + timingSafeEqual), token from the in-process copy, ' +
      'undici keep-alive pool to the simulator, JSON answer read and checked for token errcodes, sent back. Direct rounds: `GET /cgi-bin/getcallbackip?access_token=<the hub token>` on the simulator.',
  );
  lines.push(
    '- Bare-proxy rounds: `bench/gateway/bare-proxy.js` (node:http server, undici keep-alive pool, fixed path with the token, answer read whole and re-sent), ' +
      'the floor any Node gateway starts from.',
  );
  lines.push(
    `- Before timing, every target must answer an ip_list and the hub must refuse a call without its key (${JSON.stringify(run.checks)}). ` +
      'The tables give the median of the rounds\' average req/s and of their p50/p99 latencies; CPU µs/req is process CPU time (/proc) over answered requests. Raw figures: `bench/gateway/last-run.json`.',
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
  const stale = harness.ensureBuilt(options.build);
  const loadBefore = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const servers = await startServers();
  try {
    const tokenReply = await request(servers.hub.port, 'GET', `/api/v1/accounts/${ACCOUNT.appId}/token`, { authorization: `Bearer ${KEY}` });
    const token = tokenReply.json?.access_token;
    if (typeof token !== 'string') throw new Error(`no token from the hub: ${tokenReply.status} ${tokenReply.body}`);
    servers.bare = await startBareProxy(servers, token);
    const checks = await check(servers, token);
    log(`checks: ${JSON.stringify(checks)}`);
    const scenarios = [];
    const notes = [];
    for (const latencyMs of options.latency) {
      await setLatency(servers.simulator, latencyMs);
      log(`\n== WeChat latency ${latencyMs} ms`);
      for (const name of TARGETS) {
        log(`warming up ${name} for ${options.warmup} s…`);
        await cannon(target(servers, name, token), options.warmup);
      }
      const rounds = { hub: [], direct: [], bare: [] };
      for (let i = 1; i <= options.rounds; i++) {
        for (const name of TARGETS) {
          const r = await round(servers, name, token);
          rounds[name].push(r);
          log(
            `round ${i} ${name.padEnd(6)} ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}  ` +
              `upstream calls ${r.upstreamBusinessCalls}  CPU µs/req proxy ${r.cpuUsPerRequest.proxy} sim ${r.cpuUsPerRequest.simulator} cannon ${r.cpuUsPerRequest.loadGenerator}`,
          );
        }
      }
      const stats = { hub: summarize(rounds.hub), direct: summarize(rounds.direct), bare: summarize(rounds.bare) };
      const ratio = stats.hub.rps / stats.direct.rps;
      const scenario = { latencyMs, ratio, overhead: 1 - ratio, bareOverhead: 1 - stats.bare.rps / stats.direct.rps, stats };
      scenarios.push(scenario);
      for (const [name, s] of Object.entries(stats)) {
        if (s.non2xx || s.errors || s.timeouts)
          notes.push(`${latencyMs} ms, ${name}: ${s.non2xx} non-2xx, ${s.errors} errors, ${s.timeouts} timeouts.`);
      }
      log(
        `latency ${latencyMs} ms: hub ${fmt(stats.hub.rps)} req/s (p50 ${stats.hub.p50} / p99 ${stats.hub.p99} ms) vs direct ${fmt(stats.direct.rps)} req/s ` +
          `(p50 ${stats.direct.p50} / p99 ${stats.direct.p99} ms): overhead ${(scenario.overhead * 100).toFixed(1)} % (goal ≤ ${GOAL_OVERHEAD * 100} %)`,
      );
    }
    await setLatency(servers.simulator, 0);
    await check(servers, token);
    const run = {
      date: spawnSync('date', ['-u'], { encoding: 'utf8' }).stdout.trim() || new Date().toUTCString(),
      command: ['node bench/gateway/run.js', ...process.argv.slice(2)].join(' '),
      options,
      machine: machine(),
      loadBefore,
      loadAfter: os.loadavg().map((l) => l.toFixed(2)).join(' '),
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: git('status', '--porcelain', '--', 'src') !== '',
      stale,
      versions: {
        nest: version('@nestjs/core'),
        fastify: version('fastify'),
        undici: version('undici'),
        autocannon: version('autocannon'),
      },
      checks,
      notes,
      scenarios,
    };
    if (options.write) {
      fs.writeFileSync(JSON_FILE, JSON.stringify(run, null, 2) + '\n');
      writeSection(START_MARK, END_MARK, renderSection(run));
      log(`wrote ${path.relative(ROOT, RESULTS_FILE)} and ${path.relative(ROOT, JSON_FILE)}`);
    }
  } finally {
    await Promise.all([servers.bare, servers.hub, servers.simulator].filter(Boolean).map(stopChild));
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  killChildren();
  process.exit(1);
});
