#!/usr/bin/env node
'use strict';
/**
 * Callback benchmark: wxhub against express + node-webot `wechat` 2.1.0 doing the same echo, for signed plaintext
 * pushes and for safe-mode (encrypted) pushes. wxhub runs twice: at the default configuration (hub-default.js:
 * NODE_ENV=production, LOG_LEVEL unset, de-duplication in a real redis-server), which the goals are judged on, and
 * as before (dist/main.js in sandbox mode, LOG_LEVEL=warn, in-memory de-duplication) for comparison.
 *
 *   node bench/callback/run.js [--duration=10] [--warmup=3] [--rounds=3] [--connections=50]
 *                              [--modes=plain,safe,jsonSafe] [--servers=wxhubDefault,wxhub,peer]
 *                              [--build] [--no-write] [--profile]
 *
 * jsonSafe is a Mini Program's JSON push in safe mode, answered with the encrypted JSON hand-over to customer
 * service (a Mini Program's only passive reply). Neither the peer nor the sandbox-mode hub takes JSON pushes, so
 * that mode runs wxhub at the default configuration only and is judged against wxhub's own XML safe mode of the same
 * run (run safe with it). --servers limits which servers run in the other modes.
 *
 * For each mode it starts a fresh wxhub and a fresh peer, checks that both verify signatures and really echo,
 * warms each up, then runs autocannon rounds alternating wxhub / wxhub default / peer … with the same settings.
 * Every request is a distinct push (fresh nonce and signature, timestamp = now, a MsgId never sent before), taken
 * from a pool generated before each round so that client-side crypto stays out of the timed window.
 * Results go to bench/RESULTS.md (between the callback markers) and bench/callback/last-run.json.
 *
 * --profile runs both servers under the V8 CPU profiler (cpu-profile-hook.js) during their timed rounds, writes
 * bench/callback/profiles/<server>-<mode>.cpuprofile and prints the top frames; RESULTS.md is not touched then
 * (profiled figures are not comparable).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');

const JSON_FILE = path.join(__dirname, 'last-run.json');
const JSON_PUSH_FILE = path.join(__dirname, 'last-run-json.json');
const JSON_START_MARK = '<!-- callback-json:start -->';
const JSON_END_MARK = '<!-- callback-json:end -->';
const PROFILE_DIR = path.join(__dirname, 'profiles');
const START_MARK = '<!-- callback:start -->';
const END_MARK = '<!-- callback:end -->';
/** wxhub at the default configuration / peer: the floor to meet and the aim. */
const GOALS = { plain: { floor: 1.5, aim: 2 }, safe: { floor: 1.3, aim: 1.5 } };
const SERVERS = ['wxhub', 'wxhubDefault', 'peer'];
const SERVER_LABELS = {
  wxhubDefault: 'wxhub, default configuration (production, LOG_LEVEL info, Redis de-duplication)',
  wxhub: 'wxhub, sandbox mode, LOG_LEVEL=warn, in-memory de-duplication',
  peer: 'express 4 + wechat 2.1.0',
};
const MODE_NAMES = { plain: 'plaintext', safe: 'safe mode', jsonSafe: 'JSON safe mode (Mini Program)' };
const MODES = Object.keys(MODE_NAMES);

const options = parseArgs(process.argv.slice(2));
let protocol;

function parseArgs(argv) {
  const o = {
    duration: 10,
    warmup: 3,
    rounds: 3,
    connections: 50,
    modes: ['plain', 'safe'],
    servers: SERVERS,
    build: false,
    write: true,
    profile: false,
  };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'build') o.build = true;
    else if (key === 'no-write') o.write = false;
    else if (key === 'profile') o.profile = true;
    else if (key === 'modes') o.modes = value.split(',');
    else if (key === 'servers') o.servers = value.split(',');
    else if (['duration', 'warmup', 'rounds', 'connections'].includes(key) && Number(value) > 0) o[key] = Number(value);
    else throw new Error(`unknown option ${arg}`);
  }
  if (o.modes.some((m) => !MODES.includes(m))) throw new Error(`--modes takes ${MODES.join(', ')}`);
  if (o.servers.length === 0 || o.servers.some((name) => !SERVERS.includes(name))) {
    throw new Error(`--servers takes ${SERVERS.join(', ')}`);
  }
  if (o.profile) o.write = false;
  return o;
}

async function startServers(mode, redisPort) {
  const [hubPort, defaultPort, peerPort] = [await h.freePort(), await h.freePort(), await h.freePort()];
  const profileArgs = options.profile ? ['-r', path.join(__dirname, 'cpu-profile-hook.js')] : [];
  const profileEnv = (name) => (options.profile ? { BENCH_CPU_PROFILE: path.join(PROFILE_DIR, `${name}-${mode}.cpuprofile`) } : {});
  const ipc = { ipc: options.profile };
  const hub = h.startChild(
    'wxhub',
    [...profileArgs, 'dist/main.js'],
    { ...h.baseEnv(), ...profileEnv('wxhub'), WECHAT_SANDBOX: 'true', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(hubPort) },
    ipc,
  );
  const hubDefault = h.startChild(
    'wxhub default',
    [...profileArgs, path.join(__dirname, 'hub-default.js')],
    {
      ...h.baseEnv(),
      ...profileEnv('wxhub-default'),
      NODE_ENV: 'production',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_KEY_PREFIX: `bench-callback-${mode}`,
      HOST: '127.0.0.1',
      PORT: String(defaultPort),
    },
    ipc,
  );
  const peer = h.startChild(
    'peer',
    [...profileArgs, path.join(__dirname, 'peer-webot.js')],
    { ...h.baseEnv(), ...profileEnv('peer'), HOST: '127.0.0.1', PORT: String(peerPort) },
    ipc,
  );
  hub.port = hubPort;
  hubDefault.port = defaultPort;
  peer.port = peerPort;
  await Promise.all([h.waitReady(hub, protocol), h.waitReady(hubDefault, protocol), h.waitReady(peer, protocol)]);
  const all = { wxhub: hub, wxhubDefault: hubDefault, peer };
  // JSON pushes: only wxhub at the default configuration has a handler answering them passively
  const wanted = mode === 'jsonSafe' ? ['wxhubDefault'] : options.servers;
  const unused = SERVERS.filter((name) => !wanted.includes(name));
  await Promise.all(unused.map((name) => h.stopChild(all[name])));
  return Object.fromEntries(SERVERS.filter((name) => wanted.includes(name)).map((name) => [name, all[name]]));
}

/** Before and after timing: a good push is echoed (and decrypts), a tampered one is refused. Returns the statuses. */
async function checkServer(child, mode) {
  const good = protocol.makePush(mode);
  const ok = await h.request(child.port, 'POST', good.path, good.body);
  if (ok.status !== 200) throw new Error(`${child.label} ${mode}: a valid push got ${ok.status}: ${ok.body.slice(0, 300)}`);
  protocol.checkReply(mode, ok.body, good.expected);

  const tamperedField = mode === 'plain' ? 'signature' : 'msg_signature';
  const bad = protocol.makePush(mode, tamperedField);
  const refused = await h.request(child.port, 'POST', bad.path, bad.body);
  if (refused.status === 200) throw new Error(`${child.label} ${mode}: a push with a wrong ${tamperedField} was accepted`);
  const observed = { [`wrong ${tamperedField}`]: refused.status };
  if (mode !== 'plain') {
    // Informational: WeChat signs encrypted pushes twice; not every implementation checks both.
    const outer = protocol.makePush(mode, 'signature');
    observed['wrong signature, right msg_signature'] = (await h.request(child.port, 'POST', outer.path, outer.body)).status;
  }
  return observed;
}

async function runMode(mode, redisPort) {
  h.log(`\n== ${MODE_NAMES[mode]}: starting fresh servers`);
  const servers = await startServers(mode, redisPort);
  const own = Object.values(servers);
  try {
    const checks = {};
    for (const [name, child] of Object.entries(servers)) checks[name] = await checkServer(child, mode);
    h.log(`   checks passed: every server answers right; refusals ${JSON.stringify(checks)}`);

    // a guess for the warm-up; afterwards each pool holds 1.6× the best rate seen so far (or the guess)
    const rate = Object.fromEntries(Object.keys(servers).map((name) => [name, 8_000]));
    const load = (name, seconds) =>
      h.cannon({
        child: servers[name],
        own,
        protocol,
        mode,
        pool: h.makePool(protocol, mode, Math.ceil(rate[name] * seconds * 1.6) + 2000),
        seconds,
        connections: options.connections,
      });
    for (const name of Object.keys(servers)) {
      const w = await load(name, options.warmup);
      // a cold warm-up says little: the pool never holds less than the first guess
      rate[name] = Math.max(rate[name], w.total / options.warmup);
      h.log(`   warm-up ${name.padEnd(12)} ${h.fmt(w.rps)} req/s`);
    }

    if (options.profile) for (const child of own) child.send('cpu-profile:start');
    const rounds = Object.fromEntries(Object.keys(servers).map((name) => [name, []]));
    for (let r = 1; r <= options.rounds; r++) {
      for (const name of Object.keys(servers)) {
        await h.sleep(500);
        const s = await load(name, options.duration);
        rate[name] = Math.max(rate[name], s.total / options.duration);
        rounds[name].push(s);
        h.log(
          `   round ${r} ${name.padEnd(12)} ${h.fmt(s.rps)} req/s  p50 ${s.p50} ms  p99 ${s.p99} ms  ` +
            `non-2xx ${s.non2xx}  errors ${s.errors}  timeouts ${s.timeouts}  server CPU ${s.serverCpuUsPerRequest} µs/req  ` +
            `other processes ${s.otherCores} cores${s.onTheFly ? `  (pool ran dry: ${s.onTheFly} built on the fly)` : ''}`,
        );
      }
    }
    if (options.profile) await Promise.all(own.map(collectProfile));

    // still echoing after the load (a wrong answer under load would be a 200 with the wrong body)
    for (const child of own) await checkServer(child, mode);

    const stats = {};
    for (const [name, list] of Object.entries(rounds)) {
      stats[name] = {
        rps: h.median(list.map((s) => s.rps)),
        p50: h.median(list.map((s) => s.p50)),
        p99: h.median(list.map((s) => s.p99)),
        cpuUs: h.median(list.map((s) => s.serverCpuUsPerRequest)),
        non2xx: h.sum(list.map((s) => s.non2xx)),
        errors: h.sum(list.map((s) => s.errors)),
        timeouts: h.sum(list.map((s) => s.timeouts)),
        requests: h.sum(list.map((s) => s.total)),
        rounds: list,
      };
    }
    const otherCoresMax = Math.max(...Object.values(rounds).flatMap((list) => list.map((s) => s.otherCores)));
    if (!stats.peer || !stats.wxhub || !stats.wxhubDefault) return { mode, checks, stats, otherCoresMax };
    // the goal is judged on the default configuration; each of its rounds against the peer round of the same cycle
    const ratio = stats.wxhubDefault.rps / stats.peer.rps;
    const pairedRatios = rounds.wxhubDefault.map((s, i) => s.rps / rounds.peer[i].rps);
    const cpuRatio = stats.peer.cpuUs / stats.wxhubDefault.cpuUs;
    const warnRatio = stats.wxhub.rps / stats.peer.rps;
    const warnCpuRatio = stats.peer.cpuUs / stats.wxhub.cpuUs;
    h.log(
      `   ${MODE_NAMES[mode]}: wxhub default/peer = ${ratio.toFixed(2)}× (floor ${GOALS[mode].floor}×, aim ${GOALS[mode].aim}×); per round ${pairedRatios.map((r) => r.toFixed(2)).join(' / ')}; ` +
        `CPU per request peer/wxhub default = ${cpuRatio.toFixed(2)}×; sandbox at warn/peer = ${warnRatio.toFixed(2)}×`,
    );
    return { mode, checks, stats, ratio, pairedRatios, cpuRatio, warnRatio, warnCpuRatio, otherCoresMax, goal: GOALS[mode] };
  } finally {
    await Promise.all(own.map(h.stopChild));
  }
}

async function collectProfile(child) {
  const written = new Promise((resolve) => child.on('message', (m) => m === 'cpu-profile:written' && resolve()));
  child.send('cpu-profile:stop');
  await Promise.race([written, h.sleep(30_000)]);
}

function renderSection(run) {
  const m = run.machine;
  const lines = [];
  lines.push('## Callback: wxhub vs express + node-webot wechat 2.1.0');
  lines.push('');
  lines.push(`- Date: ${run.date}`);
  lines.push(`- Command: \`${run.command}\` (took ${run.seconds} s)`);
  lines.push(`- Machine: nproc ${m.nproc} (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, node ${m.node}; load average ${run.loadBefore} before, ${run.loadAfter} after`);
  lines.push(
    `- Code: wxhub ${run.commit}${run.dirty ? ' + uncommitted changes under src/' : ''}, measured from dist/` +
      (run.stale.length ? ` (built before the latest edits of ${run.stale.join(', ')})` : '') +
      `; @nestjs/core ${run.versions.nest}, fastify ${run.versions.fastify}, fast-xml-parser ${run.versions.fxp}; ` +
      `peer express ${run.versions.express} + wechat ${run.versions.wechat}; autocannon ${run.versions.autocannon}`,
  );
  lines.push(
    `- Load: autocannon in the benchmark process, ${run.options.connections} connections, pipelining 1, ` +
      `${run.options.warmup} s warm-up then ${run.options.rounds} rounds × ${run.options.duration} s per server and mode`,
  );
  lines.push('');
  lines.push('| Mode | Server | req/s (median) | req/s per round | p50 ms | p99 ms | server CPU µs/req | requests | non-2xx | errors | timeouts |');
  lines.push('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const mode of run.modes) {
    for (const name of ['wxhubDefault', 'wxhub', 'peer']) {
      const label = SERVER_LABELS[name];
      const s = mode.stats[name];
      if (!s) continue;
      lines.push(
        `| ${MODE_NAMES[mode.mode]} | ${label} | ${h.fmt(s.rps)} | ${s.rounds.map((r) => h.fmt(r.rps)).join(' / ')} | ` +
          `${s.p50} | ${s.p99} | ${s.cpuUs} | ${h.fmt(s.requests)} | ${s.non2xx} | ${s.errors} | ${s.timeouts} |`,
      );
    }
  }
  lines.push('');
  for (const mode of run.modes) {
    const { floor, aim } = mode.goal;
    const verdict = mode.ratio >= aim ? 'aim met' : mode.ratio >= floor ? 'floor met, aim missed' : '**floor missed**';
    lines.push(
      `- ${MODE_NAMES[mode.mode]}: wxhub at the default configuration / peer = **${mode.ratio.toFixed(2)}×** req/s — floor ${floor}×, aim ${aim}×: ${verdict} ` +
        `(round by round ${mode.pairedRatios.map((r) => `${r.toFixed(2)}×`).join(' / ')}; CPU time per request, peer/wxhub: ${mode.cpuRatio.toFixed(2)}×; ` +
        `in sandbox mode at LOG_LEVEL=warn with in-memory de-duplication: ${mode.warnRatio.toFixed(2)}× req/s, CPU ${mode.warnCpuRatio.toFixed(2)}×; ` +
        `other processes on the machine used up to ${mode.otherCoresMax} cores during a round)`,
    );
  }
  lines.push('');
  lines.push('Method:');
  lines.push(
    '- Every server answers the sandbox demo account (`wxsandboxdemo00001`) at `POST /wechat/wxsandboxdemo00001` with the echo ' +
      '`You said: <Content>`. wxhub at the default configuration is `bench/callback/hub-default.js` (a host module importing AppModule with one ' +
      '`@OnWechatMessage(\'text\')` echo handler; `NODE_ENV=production`, LOG_LEVEL unset = info, so one `request completed` JSON line per push to a pipe the ' +
      'benchmark reads; de-duplication in a real redis-server on the same machine: a claim and a completion per push). The second wxhub is `dist/main.js` ' +
      'with `WECHAT_SANDBOX=true LOG_LEVEL=warn` (in-memory de-duplication, default NODE_ENV), the configuration of the earlier runs; ' +
      'the peer is `bench/callback/peer-webot.js` (`wechat({ token, appid, encodingAESKey }, …)` mounted on the same path). ' +
      'Each mode starts a fresh process of each.',
  );
  lines.push(
    '- Plaintext pushes are signed (`signature`); safe-mode pushes carry only `Encrypt`, with `encrypt_type=aes` and `msg_signature`, and the reply is an encrypted envelope.',
  );
  lines.push(
    '- Every request is a distinct push: fresh nonce and signature (and a fresh encryption in safe mode), timestamp = now, and a MsgId never sent before in the run, ' +
      "so wxhub's de-duplication always takes the claim-and-complete path and never answers from its cache. The pushes are generated before each round " +
      '(1.6× the best rate seen so far), outside the timed window, the same way for both servers; a round that runs dry builds more on the fly and says so below.',
  );
  lines.push(
    "- Before timing each server must echo a push (safe-mode replies are opened and their MsgSignature checked with wxhub's `WechatCrypto`) and refuse a wrong " +
      '`signature` (plaintext) or `msg_signature` (safe mode); the same checks run again after the last round. Statuses seen: ' +
      run.modes.map((md) => `${MODE_NAMES[md.mode]} ${JSON.stringify(md.checks)}`).join('; ') +
      '. The peer checks only `msg_signature` on encrypted pushes, and neither a timestamp window nor duplicates; wxhub does all of these.',
  );
  lines.push(
    '- Rounds alternate wxhub / wxhub default / peer … on the same 2-core machine as the load generator; the table gives the median of the rounds\' ' +
      'average req/s and the median of their p50/p99 latencies. "Server CPU µs/req" is the server process\'s user + system CPU time (from /proc) ' +
      'divided by the requests it answered in the round (median of the rounds): less sensitive than req/s to other work on a shared machine, ' +
      'which is reported as the CPU used by processes other than the two servers and the benchmark. Raw figures: `bench/callback/last-run.json`.',
  );
  if (run.notes.length) {
    lines.push('');
    lines.push('Notes:');
    for (const note of run.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n');
}

/** The JSON safe-mode row: wxhub at the default configuration, beside its XML safe-mode row of the same run. */
function renderJsonSection(run, jsonMode, xmlSafe) {
  const m = run.machine;
  const lines = [];
  lines.push('## Callback: Mini Program JSON pushes, safe mode');
  lines.push('');
  lines.push(`- Date: ${run.date}`);
  lines.push(`- Command: \`${run.command}\` (took ${run.seconds} s)`);
  lines.push(`- Machine: nproc ${m.nproc} (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, node ${m.node}; load average ${run.loadBefore} before, ${run.loadAfter} after`);
  lines.push(
    `- Code: wxhub ${run.commit}${run.dirty ? ' + uncommitted changes under src/' : ''}, measured from dist/; ` +
      `${run.options.connections} connections, ${run.options.warmup} s warm-up then ${run.options.rounds} rounds × ${run.options.duration} s`,
  );
  lines.push('');
  lines.push('| Push | Server | req/s (median) | req/s per round | p50 ms | p99 ms | server CPU µs/req | requests | non-2xx | errors | timeouts |');
  lines.push('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const md of [jsonMode, xmlSafe].filter(Boolean)) {
    const s = md.stats.wxhubDefault;
    lines.push(
      `| ${MODE_NAMES[md.mode]} | ${SERVER_LABELS.wxhubDefault} | ${h.fmt(s.rps)} | ${s.rounds.map((r) => h.fmt(r.rps)).join(' / ')} | ` +
        `${s.p50} | ${s.p99} | ${s.cpuUs} | ${h.fmt(s.requests)} | ${s.non2xx} | ${s.errors} | ${s.timeouts} |`,
    );
  }
  lines.push('');
  if (jsonMode.vsXmlSafe) {
    lines.push(
      `- JSON safe mode / XML safe mode, wxhub at the default configuration: **${jsonMode.vsXmlSafe.rps.toFixed(2)}×** req/s, ` +
        `CPU time per request XML/JSON ${jsonMode.vsXmlSafe.cpu.toFixed(2)}× (other processes used up to ${jsonMode.otherCoresMax} cores during a round).`,
    );
  }
  lines.push(
    '- No peer: express + node-webot `wechat` 2.1.0 reads XML only. Each JSON push goes to the sandbox demo Mini Program (`wxsandboxdemomp001`, ' +
      'safe mode, data format JSON): `{"ToUserName","Encrypt"}` with `encrypt_type=aes` and `msg_signature`, the encrypted message JSON carrying a ' +
      'bare 19-digit MsgId, `content-type: application/json`; every push distinct (nonce, encryption, MsgId), de-duplicated in Redis. ' +
      "The handler answers with the hand-over to customer service (a Mini Program's only passive reply), encrypted in the JSON envelope " +
      '`{"Encrypt","MsgSignature","TimeStamp","Nonce"}`; the benchmark opens and checks it before and after timing, and a wrong `msg_signature` ' +
      `is refused (${JSON.stringify(jsonMode.checks.wxhubDefault)}). The XML safe-mode row echoes text in the XML envelope, as in the comparison above.`,
  );
  return lines.join('\n');
}

async function main() {
  const startedAt = Date.now();
  const stale = h.ensureBuilt(options.build);
  protocol = require('./protocol');
  if (options.profile) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const loadBefore = h.loadAverage();
  if (os.loadavg()[0] > 0.5 * os.availableParallelism()) h.log(`note: the machine is busy (load average ${loadBefore}); figures will be noisy`);
  const redis = await h.startRedis();
  const modes = [];
  try {
    for (const mode of options.modes) modes.push(await runMode(mode, redis.port));
  } finally {
    redis.kill('SIGTERM');
  }
  const run = {
    date: new Date().toUTCString(),
    command: ['node bench/callback/run.js', ...process.argv.slice(2)].join(' '),
    seconds: Math.round((Date.now() - startedAt) / 1000),
    options,
    machine: h.machine(),
    loadBefore,
    loadAfter: h.loadAverage(),
    commit: h.git('rev-parse', '--short', 'HEAD'),
    dirty: h.git('status', '--porcelain', '--', 'src') !== '',
    stale,
    versions: {
      nest: h.version('@nestjs/core'),
      fastify: h.version('fastify'),
      fxp: h.version('fast-xml-parser'),
      express: h.version('express'),
      wechat: h.version('wechat'),
      autocannon: h.version('autocannon'),
    },
    notes: [],
    modes,
  };
  for (const md of modes) {
    for (const [name, s] of Object.entries(md.stats)) {
      const dry = h.sum(s.rounds.map((r) => r.onTheFly));
      if (dry) run.notes.push(`${MODE_NAMES[md.mode]} ${name}: ${dry} pushes were built during timed rounds (pool too small).`);
    }
  }
  if (options.profile) {
    const { summarizeProfile } = require('./summarize-profile');
    for (const md of options.modes) {
      for (const name of ['wxhub', 'wxhub-default', 'peer']) {
        const file = path.join(PROFILE_DIR, `${name}-${md}.cpuprofile`);
        if (fs.existsSync(file)) h.log(`\n--- ${name} ${MODE_NAMES[md]} (${path.relative(h.ROOT, file)})\n${summarizeProfile(file)}`);
      }
    }
  }
  const compared = modes.filter((md) => md.ratio !== undefined);
  const jsonMode = modes.find((md) => md.mode === 'jsonSafe');
  const xmlSafe = modes.find((md) => md.mode === 'safe' && md.stats.wxhubDefault);
  if (jsonMode) {
    const json = jsonMode.stats.wxhubDefault;
    jsonMode.vsXmlSafe = xmlSafe
      ? { rps: json.rps / xmlSafe.stats.wxhubDefault.rps, cpu: xmlSafe.stats.wxhubDefault.cpuUs / json.cpuUs }
      : undefined;
    h.log(
      `   JSON safe mode: ${h.fmt(json.rps)} req/s, ${json.cpuUs} µs/req` +
        (jsonMode.vsXmlSafe ? `; vs XML safe mode ${jsonMode.vsXmlSafe.rps.toFixed(2)}× req/s, CPU ${jsonMode.vsXmlSafe.cpu.toFixed(2)}×` : ''),
    );
  }
  if (options.write) {
    const written = [];
    // the peer comparison is rewritten only by a run that compared both XML modes with every server
    if (compared.some((md) => md.mode === 'plain') && compared.some((md) => md.mode === 'safe')) {
      fs.writeFileSync(JSON_FILE, JSON.stringify({ ...run, modes: compared }, null, 2) + '\n');
      h.writeSection(START_MARK, END_MARK, renderSection({ ...run, modes: compared }));
      written.push(JSON_FILE);
    }
    if (jsonMode) {
      fs.writeFileSync(JSON_PUSH_FILE, JSON.stringify(run, null, 2) + '\n');
      h.writeSection(JSON_START_MARK, JSON_END_MARK, renderJsonSection(run, jsonMode, xmlSafe));
      written.push(JSON_PUSH_FILE);
    }
    if (written.length) {
      h.log(`\nwrote ${path.relative(h.ROOT, h.RESULTS_FILE)} and ${written.map((f) => path.relative(h.ROOT, f)).join(', ')}`);
    } else h.log('\nnothing written: a full run compares plain and safe with every server, or includes jsonSafe');
  }
  h.log(`done in ${Math.round((Date.now() - startedAt) / 1000)} s`);
}

main()
  .catch((error) => {
    process.stderr.write(`benchmark failed: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(h.killChildren);
