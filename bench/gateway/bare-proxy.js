'use strict';
/* global require, process, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The floor for any Node gateway: node:http in, an undici keep-alive pool out, the token fixed, the answer read
 * and sent back. No auth, no checks, no framework. `PORT`, `UPSTREAM` (origin) and `UPSTREAM_PATH` (with the token).
 */
const http = require('node:http');
const { Pool } = require('undici');

const pool = new Pool(process.env.UPSTREAM, { connections: 128 });
const upstreamPath = process.env.UPSTREAM_PATH;

http
  .createServer(async (req, res) => {
    try {
      req.resume();
      const answer = await pool.request({ method: 'GET', path: upstreamPath });
      const body = Buffer.from(await answer.body.arrayBuffer());
      res.writeHead(answer.statusCode, { 'content-type': answer.headers['content-type'], 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(502).end();
    }
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
