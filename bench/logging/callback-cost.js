#!/usr/bin/env node
'use strict';
/* global require, process, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain script run against dist */
/**
 * What request logging costs on the callback hot path: the same hub (dist/main.js, sandbox demo account, plaintext
 * echo pushes, the callback benchmark's load) at LOG_LEVEL=warn (no request line written) and at LOG_LEVEL=info (one
 * JSON line per push, written to a pipe that is read and discarded), alternated for a few rounds. Reports req/s and
 * the hub's CPU time per request (from /proc), the figure least disturbed by other work on a shared machine.
 *
 *   npm run build && node bench/logging/callback-cost.js [--rounds=3] [--duration=8]
 */
const path = require('node:path');
const h = require(path.join(__dirname, '..', 'lib', 'harness.js'));
const protocol = require(path.join(__dirname, '..', 'callback', 'protocol.js'));

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const rounds = Number(args.rounds ?? 3);
const duration = Number(args.duration ?? 8);

async function start(level) {
  const port = await h.freePort();
  const hub = h.startChild(`wxhub ${level}`, ['dist/main.js'], {
    ...h.baseEnv(),
    WECHAT_SANDBOX: 'true',
    LOG_LEVEL: level,
    HOST: '127.0.0.1',
    PORT: String(port),
  });
  hub.port = port;
  await h.waitReady(hub, protocol);
  return hub;
}

async function main() {
  const hubs = { warn: await start('warn'), info: await start('info') };
  const own = Object.values(hubs);
  const results = { warn: [], info: [] };
  try {
    const load = (level, seconds) =>
      h.cannon({
        child: hubs[level],
        own,
        protocol,
        mode: 'plain',
        pool: h.makePool(protocol, 'plain', Math.ceil(6000 * seconds)),
        seconds,
        connections: 50,
      });
    for (const level of Object.keys(hubs)) await load(level, 3);
    for (let r = 1; r <= rounds; r++) {
      for (const level of Object.keys(hubs)) {
        await h.sleep(500);
        const s = await load(level, duration);
        results[level].push(s);
        h.log(
          `round ${r} LOG_LEVEL=${level.padEnd(4)} ${h.fmt(s.rps)} req/s  CPU ${s.serverCpuUsPerRequest} µs/req  p99 ${s.p99} ms`,
        );
      }
    }
  } finally {
    await Promise.all(own.map((hub) => h.stopChild(hub)));
  }
  const med = (level, field) => h.median(results[level].map((s) => s[field]));
  h.log(
    `median: warn ${h.fmt(med('warn', 'rps'))} req/s, ${med('warn', 'serverCpuUsPerRequest')} µs/req; ` +
      `info ${h.fmt(med('info', 'rps'))} req/s, ${med('info', 'serverCpuUsPerRequest')} µs/req`,
  );
}

main().catch((error) => {
  h.log(error.stack);
  process.exit(1);
});
