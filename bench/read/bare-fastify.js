#!/usr/bin/env node
'use strict';
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The reference for the hub's token route: a bare Fastify 5 server whose `GET /api/v1/accounts/:appId/token`
 * answers the same JSON as the hub (`{access_token, expires_in, expires_at, version}`, expires_in computed per
 * request as the hub does) from a constant, with no key check, no Nest, no store. Env: PORT, TOKEN (the hub's
 * token, so the bodies have the same length), EXPIRES_AT (ms), VERSION.
 */
const Fastify = require('fastify');

const token = process.env.TOKEN;
const expiresAt = new Date(Number(process.env.EXPIRES_AT));
const version = Number(process.env.VERSION);
const app = Fastify({ logger: false });
app.get('/api/v1/accounts/:appId/token', async () => ({
  access_token: token,
  expires_in: Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000)),
  expires_at: expiresAt.toISOString(),
  version,
}));
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
