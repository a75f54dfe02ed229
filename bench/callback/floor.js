#!/usr/bin/env node
'use strict';
/**
 * Context for run.js: what a plaintext callback costs on this machine before any WeChat logic. Servers that only
 * read the body, check `signature` (one SHA-1) and answer a constant echo XML — bare node:http, bare Fastify, and
 * a minimal NestJS 11 + Fastify app with wxhub's controller shape (`@Param`, `@Query`, `@Body`, `@Res({ passthrough })`,
 * global ValidationPipe as in create-app.ts) — measured alternately with the peer and wxhub under the same load as
 * run.js. The server CPU time per request is the figure to compare: it is what a server would need to cut.
 *
 *   node bench/callback/floor.js [--duration=6] [--warmup=3] [--rounds=3] [--no-write]
 *
 * Writes its own section of bench/RESULTS.md (between the callback-floor markers).
 */
const path = require('node:path');

const REPLY =
  '<xml><ToUserName><![CDATA[oBench0000000000000000000001]]></ToUserName><FromUserName><![CDATA[gh_sandbox00000]]></FromUserName>' +
  '<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[You said: bench message 1]]></Content></xml>';
const TOKEN = 'sandboxtoken';

function signed(query) {
  const hash = require('node:crypto').createHash('sha1');
  return hash.update([TOKEN, String(query.timestamp), String(query.nonce)].sort().join('')).digest('hex') === query.signature;
}

/** The URL check (GET … echostr) the harness waits on, then the echo. */
async function serve(kind, port) {
  const host = '127.0.0.1';
  if (kind === 'node-http') {
    const http = require('node:http');
    http
      .createServer((req, res) => {
        const query = Object.fromEntries(new URL(req.url, 'http://x').searchParams);
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (!signed(query)) {
            res.writeHead(401);
            res.end();
          } else if (req.method === 'GET') {
            res.end(query.echostr);
          } else {
            res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8' });
            res.end(REPLY);
          }
        });
      })
      .listen(port, host);
    return;
  }
  if (kind === 'fastify') {
    const app = require('fastify')();
    app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_r, body, done) => done(null, body));
    app.get('/wechat/:appId', (req, reply) => (signed(req.query) ? req.query.echostr : reply.code(401).send('')));
    app.post('/wechat/:appId', (req, reply) => {
      if (!signed(req.query)) return reply.code(401).send('');
      reply.header('content-type', 'application/xml; charset=utf-8');
      return REPLY;
    });
    await app.listen({ port, host });
    return;
  }
  if (kind === 'nest') {
    require('reflect-metadata');
    const { Controller, Get, Post, Param, Query, Body, Res, HttpCode, Module, ValidationPipe } = require('@nestjs/common');
    const { NestFactory } = require('@nestjs/core');
    const { FastifyAdapter } = require('@nestjs/platform-fastify');
    class CallbackController {
      verify(appId, query, reply) {
        if (!signed(query)) return reply.status(401).send('');
        return query.echostr;
      }
      async receive(appId, query, body, reply) {
        if (!signed(query)) {
          reply.status(401);
          return '';
        }
        reply.header('content-type', 'application/xml; charset=utf-8');
        return REPLY;
      }
    }
    // the decorators of wxhub's WechatCallbackController, applied by hand (plain JS)
    const proto = CallbackController.prototype;
    Param('appId')(proto, 'verify', 0);
    Query()(proto, 'verify', 1);
    Res({ passthrough: true })(proto, 'verify', 2);
    Reflect.defineMetadata('design:paramtypes', [String, Object, Object], proto, 'verify');
    Get(':appId')(proto, 'verify', Object.getOwnPropertyDescriptor(proto, 'verify'));
    Param('appId')(proto, 'receive', 0);
    Query()(proto, 'receive', 1);
    Body()(proto, 'receive', 2);
    Res({ passthrough: true })(proto, 'receive', 3);
    Reflect.defineMetadata('design:paramtypes', [String, Object, Object, Object], proto, 'receive');
    const receive = Object.getOwnPropertyDescriptor(proto, 'receive');
    Post(':appId')(proto, 'receive', receive);
    HttpCode(200)(proto, 'receive', receive);
    Controller('wechat')(CallbackController);
    class FloorModule {}
    Module({ controllers: [CallbackController] })(FloorModule);
    const app = await NestFactory.create(FloorModule, new FastifyAdapter({ bodyLimit: 64 * 1024 }), { logger: ['error', 'warn'] });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_r, body, done) => done(null, body));
    app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
    await app.listen(port, host);
    return;
  }
  throw new Error(`unknown server ${kind}`);
}

const SERVERS = [
  ['node-http', 'bare node:http (SHA-1 check, constant reply)'],
  ['fastify', 'bare Fastify 5 (same)'],
  ['nest', "minimal NestJS 11 + Fastify, wxhub's controller shape + ValidationPipe (same)"],
  ['peer', 'express 4 + wechat 2.1.0 (full echo)'],
  ['wxhub', 'wxhub (full echo)'],
];

async function main() {
  const h = require('../lib/harness');
  const options = { duration: 6, warmup: 3, rounds: 3, write: true };
  for (const arg of process.argv.slice(2)) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'no-write') options.write = false;
    else if (['duration', 'warmup', 'rounds'].includes(key) && Number(value) > 0) options[key] = Number(value);
    else throw new Error(`unknown option ${arg}`);
  }
  const startedAt = Date.now();
  h.ensureBuilt(false);
  const protocol = require('./protocol');
  const loadBefore = h.loadAverage();

  const servers = {};
  for (const [kind] of SERVERS) {
    const port = await h.freePort();
    const env = { ...h.baseEnv(), HOST: '127.0.0.1', PORT: String(port) };
    let args = [__filename, '--serve', kind, String(port)];
    if (kind === 'peer') args = [path.join(__dirname, 'peer-webot.js')];
    if (kind === 'wxhub') {
      args = ['dist/main.js'];
      Object.assign(env, { WECHAT_SANDBOX: 'true', LOG_LEVEL: 'warn' });
    }
    servers[kind] = h.startChild(kind, args, env);
    servers[kind].port = port;
  }
  const own = Object.values(servers);
  await Promise.all(own.map((child) => h.waitReady(child, protocol)));
  for (const child of own) {
    const push = protocol.makePush('plain');
    const r = await h.request(child.port, 'POST', push.path, push.body);
    if (r.status !== 200 || !r.body.includes('You said: ')) throw new Error(`${child.label} did not echo: ${r.status} ${r.body.slice(0, 200)}`);
  }

  const rate = Object.fromEntries(SERVERS.map(([kind]) => [kind, 10_000]));
  const load = (kind, seconds) =>
    h.cannon({
      child: servers[kind],
      own,
      protocol,
      mode: 'plain',
      pool: h.makePool(protocol, 'plain', Math.ceil(rate[kind] * seconds * 1.6) + 2000),
      seconds,
      connections: 50,
    });
  for (const [kind] of SERVERS) {
    const w = await load(kind, options.warmup);
    rate[kind] = Math.max(rate[kind] / 2, w.total / options.warmup);
  }
  const rounds = Object.fromEntries(SERVERS.map(([kind]) => [kind, []]));
  for (let r = 1; r <= options.rounds; r++) {
    for (const [kind] of SERVERS) {
      await h.sleep(300);
      const s = await load(kind, options.duration);
      rate[kind] = Math.max(rate[kind], s.total / options.duration);
      rounds[kind].push(s);
      h.log(`round ${r} ${kind.padEnd(9)} ${h.fmt(s.rps)} req/s  server CPU ${s.serverCpuUsPerRequest} µs/req  non-2xx ${s.non2xx}  other processes ${s.otherCores} cores`);
    }
  }
  await Promise.all(own.map(h.stopChild));

  const peerCpu = h.median(rounds.peer.map((s) => s.serverCpuUsPerRequest));
  const lines = [
    '## Callback floor: what a plaintext callback costs here before any WeChat logic',
    '',
    `- Date: ${new Date().toUTCString()}; command: \`node bench/callback/floor.js${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}\`; ` +
      `machine: nproc ${h.machine().nproc}, node ${process.version}; load average ${loadBefore} before, ${h.loadAverage()} after`,
    `- Same load as run.js (plaintext pushes, distinct MsgIds, autocannon 50 connections), servers alternated, ${options.warmup} s warm-up, ${options.rounds} rounds × ${options.duration} s.`,
    '',
    '| Server | req/s (median) | server CPU µs/req (median) | CPU vs the peer |',
    '|---|---:|---:|---:|',
  ];
  for (const [kind, label] of SERVERS) {
    const cpu = h.median(rounds[kind].map((s) => s.serverCpuUsPerRequest));
    lines.push(`| ${label} | ${h.fmt(h.median(rounds[kind].map((s) => s.rps)))} | ${cpu} | ${(cpu / peerCpu).toFixed(2)} |`);
  }
  lines.push('');
  lines.push(
    `Twice the peer's throughput means at most about ${Math.round(peerCpu / 2)} µs of server CPU per plaintext push here (half the peer's ${peerCpu} µs), ` +
      'to be compared with the framework rows above, which do no WeChat work at all.',
  );
  const section = lines.join('\n');
  h.log(`\n${section}`);
  if (options.write) {
    h.writeSection('<!-- callback-floor:start -->', '<!-- callback-floor:end -->', section);
    h.log(`\nwrote ${path.relative(h.ROOT, h.RESULTS_FILE)}`);
  }
  h.log(`done in ${Math.round((Date.now() - startedAt) / 1000)} s`);
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], Number(process.argv[4])).catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
} else {
  main()
    .catch((error) => {
      process.stderr.write(`floor failed: ${error?.stack ?? error}\n`);
      process.exitCode = 1;
    })
    .finally(() => require('../lib/harness').killChildren());
}
