#!/usr/bin/env node
'use strict';
/**
 * Regression check for wxhub's in-memory de-duplication store once it is full (MAX_ENTRIES = 100,000 in
 * memory-callback-dedupe-store.ts; each distinct push stays 120 s): sends distinct plaintext pushes in batches of
 * 10,000 (autocannon, 50 connections) to one fresh wxhub and prints each batch's server CPU time per push. Before
 * 2f9f1e1 every write scanned the whole map once it was full: measured on 9bc4495's build, batches past 100,000
 * pushes ran at ~300 req/s (p99 ~330 ms) instead of ~3,300.
 * (req/s is only indicative: autocannon ends an `amount` run on its 1-second tick.)
 *
 *   node bench/callback/dedupe-cliff.js [--batches=30]
 */
const autocannon = require('autocannon');
const h = require('../lib/harness');

async function main() {
  const batches = Number(/^--batches=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 30);
  h.ensureBuilt(false);
  const protocol = require('./protocol');
  const port = await h.freePort();
  const hub = h.startChild('wxhub', ['dist/main.js'], { ...h.baseEnv(), WECHAT_SANDBOX: 'true', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port) });
  hub.port = port;
  await h.waitReady(hub, protocol);
  const startedAt = Date.now();
  let sent = 0;
  for (let b = 0; b < batches; b++) {
    const pool = h.makePool(protocol, 'plain', 10_000);
    let next = 0;
    const t = Date.now();
    const before = h.cpuSnapshot(hub, [hub]);
    const r = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: 50,
      amount: 10_000,
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      requests: [
        {
          setupRequest(req) {
            const push = pool[next++] ?? protocol.makePush('plain');
            req.path = push.path;
            req.body = push.body;
            return req;
          },
        },
      ],
    });
    const { serverCpuUsPerRequest } = h.cpuDelta(before, h.cpuSnapshot(hub, [hub]), r.requests.total);
    sent += r.requests.total;
    h.log(
      `${h.fmt(sent).padStart(7)} distinct pushes (${Math.round((Date.now() - startedAt) / 1000)} s): ` +
        `server CPU ${serverCpuUsPerRequest} µs/push, ~${h.fmt(r.requests.total / ((Date.now() - t) / 1000))} req/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}`,
    );
  }
  await h.stopChild(hub);
}

main()
  .catch((error) => {
    process.stderr.write(`dedupe-cliff failed: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(h.killChildren);
