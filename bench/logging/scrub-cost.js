'use strict';
/* global require, process, console, __dirname */
/* eslint-disable no-console -- a benchmark prints its figures */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain script run against dist */
/**
 * Per-line cost of the log scrubber (src/logging/secret-scrubber.ts) and of a whole log call through the hub's root
 * logger, with a realistic load of known values: ACCOUNTS accounts (AppSecret, callback token, EncodingAESKey, and
 * the 8 last access tokens and jsapi tickets each) and 3 admin keys.
 *
 *   npm run build && node bench/logging/scrub-cost.js [accounts=10]
 */
const { randomBytes } = require('node:crypto');
const { resolve } = require('node:path');
const dist = resolve(__dirname, '..', '..', 'dist', 'logging');
const { SecretScrubber } = require(resolve(dist, 'secret-scrubber.js'));
const { createRootLogger } = require(resolve(dist, 'root-logger.js'));
const { logDestination } = require(resolve(dist, 'log-destination.js'));

const ACCOUNTS = Number(process.argv[2] ?? 10);
const scrubber = new SecretScrubber();
const accounts = Array.from({ length: ACCOUNTS }, () => ({
  appSecret: randomBytes(16).toString('hex'),
  token: randomBytes(8).toString('hex'),
  encodingAESKey: randomBytes(32)
    .toString('base64')
    .replace(/[^a-zA-Z0-9]/g, 'a')
    .slice(0, 43),
}));
scrubber.addConfigured({ accounts, apiKeys: [1, 2, 3].map(() => randomBytes(24).toString('base64url')) });
accounts.forEach((_, i) => {
  for (let n = 0; n < 8; n++) {
    scrubber.learn(`wx${i}`, 'access_token', randomBytes(96).toString('base64url'));
    scrubber.learn(`wx${i}`, 'jsapi', randomBytes(64).toString('base64url'));
  }
});

const clean =
  '{"level":30,"time":"2026-11-21T10:42:49.170Z","pid":28136,"hostname":"vm","reqId":"5fb459b0-832f-4534-8cfd-e91b0d64ede2",' +
  '"appId":"wx1234567890abcdef","method":"POST","url":"/wechat/wx1234567890abcdef?signature=[redacted]&timestamp=1763721769&nonce=1234","statusCode":200,"responseTime":2.2,"msg":"request completed"}\n';
const dirty = clean.replace('vm', accounts[0].appSecret);

function perCall(fn, iterations = 200_000) {
  for (let i = 0; i < 10_000; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

const sink = { write() {} };
const scrubbed = createRootLogger('info', logDestination({ scrubber, sink }));
const unscrubbed = createRootLogger('info', logDestination({ scrubber: new SecretScrubber(), sink }));
const child = (logger) =>
  logger.child({ reqId: '5fb459b0-832f-4534-8cfd-e91b0d64ede2', appId: 'wx1234567890abcdef' });
const line = (logger) => () =>
  logger.info(
    { method: 'POST', url: '/wechat/wx1?signature=[redacted]', statusCode: 200, responseTime: 2.2 },
    'request completed',
  );

console.log(`${scrubber.size} known values (${ACCOUNTS} accounts)`);
console.log(`scrub, line without a secret: ${perCall(() => scrubber.scrub(clean)).toFixed(0)} ns`);
console.log(`scrub, line with one secret:  ${perCall(() => scrubber.scrub(dirty)).toFixed(0)} ns`);
console.log(`request line through pino, scrubbed:       ${perCall(line(child(scrubbed))).toFixed(0)} ns`);
console.log(`request line through pino, nothing known:  ${perCall(line(child(unscrubbed))).toFixed(0)} ns`);
