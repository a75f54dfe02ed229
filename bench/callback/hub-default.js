#!/usr/bin/env node
'use strict';
/* global require, process, __dirname, console */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script, as a JavaScript host app would be */
/**
 * wxhub as production runs it, for the callback benchmark: a host module importing the built AppModule with one
 * echo handler for the benchmark's account (`You said: <Content>`, what the sandbox demo answers; the hand-over to
 * customer service for the demo Mini Program, which pushes JSON in safe mode), started with
 * createApp at the hub's defaults — the caller sets NODE_ENV=production and REDIS_URL (de-duplication in Redis)
 * and leaves LOG_LEVEL unset (info: one `request completed` line per push).
 *
 * Env: PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX, NODE_ENV.
 */
const { resolve } = require('node:path');
const { Injectable, Module } = require('@nestjs/common');

const dist = resolve(__dirname, '..', '..', 'dist');
const { AppModule, createApp, OnWechatMessage, transferToCustomerService } = require(resolve(dist, 'index.js'));
const { SANDBOX_DEMO_ACCOUNT: DEMO, SANDBOX_DEMO_MINI_PROGRAM: MP } = require(
  resolve(dist, 'sandbox', 'sandbox.constants.js'),
);

class EchoHandlers {
  echo(message, context) {
    // a Mini Program's only passive reply is the hand-over (its text replies go out through customer service)
    if (context.format === 'json') return transferToCustomerService();
    return `You said: ${String(message.Content ?? '')}`;
  }
}
const descriptor = Object.getOwnPropertyDescriptor(EchoHandlers.prototype, 'echo');
OnWechatMessage('text')(EchoHandlers.prototype, 'echo', descriptor);
Injectable()(EchoHandlers);

class BenchHostModule {}
Module({ imports: [AppModule], providers: [EchoHandlers] })(BenchHostModule);

process.env.WECHAT_SANDBOX = 'false';
// the account's callback settings are the demo's; no WeChat is needed for pushes (nothing answers there)
process.env.WECHAT_ACCOUNTS = JSON.stringify([DEMO, MP]);
process.env.WECHAT_API_BASE_URL = 'http://127.0.0.1:9';

async function main() {
  const app = await createApp(BenchHostModule);
  await app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
