#!/usr/bin/env node
'use strict';
/* global require, process, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * In-process read path: a Nest application context with TokenModule.forRoot (from dist/index.js, as a host app
 * builds it) on a real redis-server and the simulator, one warmed account, then `await getAccessToken(appId)` in a
 * tight loop for SECONDS seconds. Redis `INFO commandstats` is read before and after the loop (the INFO calls
 * themselves are left out), so every command the token plane sent meanwhile is counted.
 *
 * Two phases, each with its own application context (same account, same Redis):
 *   default  l1TtlMs 3000 (the default): the in-process copy is re-checked against Redis every 3 s, so the loop
 *            includes about SECONDS / 3 store reads; every other call is an L1 hit.
 *   hits     l1TtlMs 1 hour: nothing sends the loop to the store, so every call is an L1 hit.
 *
 * Env: REDIS_URL, SIM_URL, APP_ID, APP_SECRET, SECONDS. Prints one JSON line with both phases.
 */
const path = require('node:path');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const Redis = require('ioredis');

const dist = path.resolve(__dirname, '..', '..', 'dist');
const { TokenModule, TokenService } = require(path.join(dist, 'index.js'));

const { REDIS_URL, SIM_URL, APP_ID, APP_SECRET } = process.env;
const SECONDS = Number(process.env.SECONDS ?? 5);

async function commandStats(client) {
  const text = await client.info('commandstats');
  const stats = {};
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m && m[1] !== 'info') stats[m[1]] = Number(m[2]);
  }
  return stats;
}

function diff(before, after) {
  const out = {};
  for (const [cmd, calls] of Object.entries(after)) {
    const d = calls - (before[cmd] ?? 0);
    if (d) out[cmd] = d;
  }
  return out;
}

async function phase(name, l1TtlMs, client) {
  class BenchModule {}
  Module({
    imports: [
      TokenModule.forRoot({
        accounts: [{ appId: APP_ID, appSecret: APP_SECRET, messageMode: 'plain', tokenEndpoint: 'stable' }],
        redis: { kind: 'url', url: REDIS_URL },
        keyPrefix: 'bench-read',
        apiBaseUrl: SIM_URL,
        l1TtlMs,
      }),
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error', 'warn'] });
  await app.init();
  const tokens = app.get(TokenService);
  const token = await tokens.getAccessToken(APP_ID); // warm: the first read fetches (or reads the stored token)
  for (let i = 0; i < 200_000; i++) await tokens.getAccessToken(APP_ID); // JIT warm-up
  const before = await commandStats(client);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const deadline = Date.now() + SECONDS * 1000;
  let calls = 0;
  let mismatches = 0;
  while (Date.now() < deadline) {
    for (let i = 0; i < 10_000; i++) {
      if ((await tokens.getAccessToken(APP_ID)) !== token) mismatches++;
    }
    calls += 10_000;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const commands = diff(before, await commandStats(client));
  await app.close();
  const totalCommands = Object.values(commands).reduce((a, b) => a + b, 0);
  return {
    name,
    l1TtlMs,
    calls,
    seconds: +seconds.toFixed(3),
    callsPerSecond: Math.round(calls / seconds),
    nsPerCall: +((seconds * 1e9) / calls).toFixed(1),
    // on a shared machine the loop does not get a whole core: per CPU second is the steadier figure
    cpuSeconds: +cpuSeconds.toFixed(3),
    callsPerCpuSecond: Math.round(calls / cpuSeconds),
    cpuNsPerCall: +((cpuSeconds * 1e9) / calls).toFixed(1),
    redisCommands: commands,
    totalCommands,
    commandsPerCall: totalCommands / calls,
    tokenChanged: mismatches,
  };
}

async function main() {
  const client = new Redis(REDIS_URL);
  const phases = [];
  phases.push(await phase('default', 3000, client));
  phases.push(await phase('hits', 3_600_000, client));
  client.disconnect();
  process.stdout.write(`${JSON.stringify({ phases })}\n`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
