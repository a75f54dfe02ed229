#!/usr/bin/env node
'use strict';
/* global require, process, setTimeout, clearInterval, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * One instance of a service that needs an access_token, with its readers: started by run.js, one process per
 * baseline instance and one per wxhub fleet (its readers, spread over the hub instances). Env:
 *
 *   MODE         cache  baseline (a): per-instance cache, no coordination. /cgi-bin/token when the cache is
 *                       empty or expired (by expires_in, less REFRESH_AHEAD_SECONDS), kept in memory, no lock,
 *                       no sharing; a business call answered 40001/40014/42001 empties the cache and is retried
 *                       once with a refetched token. What teams hand-roll.
 *                timer  baseline (b): per-instance timer. /cgi-bin/token at start and then every TIMER_MS; the
 *                       readers use whatever it last fetched (the timer is the only refresh).
 *                hub    wxhub's callers: each read is `GET /api/v1/accounts/:appId/token` on one of HUB_URLS
 *                       (Bearer KEY); a token error is reported with `POST …/token/invalid` (as the README says
 *                       callers should) and the call retried once with the token it answers.
 *   SIM_URL, APP_ID, APP_SECRET, READERS (per instance / per hub), INTERVAL_MS (each reader's pause between
 *   reads, ± 50 % random), REFRESH_AHEAD_SECONDS (cache), TIMER_MS (timer), HUB_URLS (comma-separated), KEY.
 *
 * Every read ends with a business call to WeChat (`GET /cgi-bin/getcallbackip?access_token=`): the simulator's
 * answer decides whether the token was valid. Talks to run.js over IPC: sends {type:'ready'} once the readers
 * run; on {type:'stop'} stops the readers, waits for the reads in flight and answers {type:'counts', counts}.
 */
const { Pool } = require('undici');

const env = process.env;
const MODE = env.MODE;
const APP_ID = env.APP_ID;
const READERS = Number(env.READERS);
const INTERVAL_MS = Number(env.INTERVAL_MS);
const TOKEN_ERRORS = new Set([40001, 40014, 42001]);

const pools = new Map();
function pool(origin) {
  let p = pools.get(origin);
  if (!p) {
    p = new Pool(origin, { connections: 64, pipelining: 1 });
    pools.set(origin, p);
  }
  return p;
}

async function getJson(origin, path, { method = 'GET', headers, body } = {}) {
  const r = await pool(origin).request({
    method,
    path,
    headers,
    body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await r.body.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, json };
}

const counts = {
  reads: 0, // reads completed (a retried read counts once)
  businessCalls: 0,
  ok: 0,
  invalid: 0, // business calls WeChat answered 40001/40014/42001
  invalidByCode: {},
  tokenFetches: 0, // this instance's own /cgi-bin/token calls (baselines)
  tokenFetchFailures: 0,
  getterFailures: 0, // no token obtained (hub answered non-200, network error…)
  otherErrors: 0, // business call failed for another reason
  reports: 0, // hub: invalid-token reports sent
};

// ---------------------------------------------------------------------------------------------------------------
// the ways of obtaining a token

const SIM = env.SIM_URL;
const tokenPath = `/cgi-bin/token?grant_type=client_credential&appid=${encodeURIComponent(APP_ID)}&secret=${encodeURIComponent(env.APP_SECRET ?? '')}`;

async function fetchLegacy() {
  counts.tokenFetches++;
  const r = await getJson(SIM, tokenPath);
  if (r.status !== 200 || typeof r.json?.access_token !== 'string') {
    counts.tokenFetchFailures++;
    throw new Error(`token call failed: ${r.status} ${r.json?.errcode}`);
  }
  return { token: r.json.access_token, expiresIn: Number(r.json.expires_in) };
}

function cacheSystem() {
  const ahead = Number(env.REFRESH_AHEAD_SECONDS ?? 0);
  let cached = null;
  return {
    async start() {},
    async get() {
      if (cached && Date.now() < cached.expiresAt) return cached.token;
      const { token, expiresIn } = await fetchLegacy();
      cached = { token, expiresAt: Date.now() + (expiresIn - ahead) * 1000 };
      return token;
    },
    async invalid() {
      cached = null;
      return this.get();
    },
    stop() {},
  };
}

function timerSystem() {
  let current = null;
  let timer;
  const refresh = async () => {
    try {
      current = (await fetchLegacy()).token;
    } catch {
      // next tick tries again
    }
  };
  return {
    async start() {
      await refresh();
      timer = setInterval(refresh, Number(env.TIMER_MS));
    },
    async get() {
      if (current === null) throw new Error('no token yet');
      return current;
    },
    async invalid() {
      return null; // the timer is the only refresh
    },
    stop() {
      clearInterval(timer);
    },
  };
}

function hubSystem() {
  const headers = { authorization: `Bearer ${env.KEY}` };
  const path = `/api/v1/accounts/${encodeURIComponent(APP_ID)}/token`;
  return {
    async start() {},
    async get(reader) {
      const r = await getJson(reader.hub, path, { headers });
      if (r.status !== 200 || typeof r.json?.access_token !== 'string')
        throw new Error(`hub answered ${r.status}`);
      return r.json.access_token;
    },
    async invalid(reader, token) {
      counts.reports++;
      const r = await getJson(reader.hub, `${path}/invalid`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: token }),
      });
      return r.status === 200 ? r.json.access_token : null;
    },
    stop() {},
  };
}

const system = { cache: cacheSystem, timer: timerSystem, hub: hubSystem }[MODE]?.();
if (!system) throw new Error(`MODE must be cache, timer or hub (got ${MODE})`);

// ---------------------------------------------------------------------------------------------------------------
// readers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const callbackIp = (token) => `/cgi-bin/getcallbackip?access_token=${encodeURIComponent(token)}`;
let running = true;

/** A business call with `token`; true when WeChat answered a token error (counted). */
async function use(token) {
  counts.businessCalls++;
  const r = await getJson(SIM, callbackIp(token));
  if (r.status === 200 && Array.isArray(r.json?.ip_list)) {
    counts.ok++;
    return false;
  }
  const code = r.json?.errcode;
  if (TOKEN_ERRORS.has(code)) {
    counts.invalid++;
    counts.invalidByCode[code] = (counts.invalidByCode[code] ?? 0) + 1;
    return true;
  }
  counts.otherErrors++;
  return false;
}

async function read(reader) {
  let token;
  try {
    token = await system.get(reader);
  } catch {
    counts.getterFailures++;
    return;
  }
  try {
    if (await use(token)) {
      const fresh = await system.invalid(reader, token);
      if (fresh) await use(fresh);
    }
  } catch {
    counts.otherErrors++;
  }
}

async function reader(r) {
  // spread the first reads over one interval
  await sleep(Math.random() * INTERVAL_MS);
  while (running) {
    await read(r);
    counts.reads++;
    await sleep(INTERVAL_MS * (0.5 + Math.random()));
  }
}

async function main() {
  await system.start();
  const hubs = (env.HUB_URLS ?? '').split(',').filter(Boolean);
  const readers = [];
  const total = MODE === 'hub' ? READERS * hubs.length : READERS;
  for (let i = 0; i < total; i++)
    readers.push(reader({ hub: hubs.length ? hubs[Math.floor(i / READERS)] : undefined }));
  process.send({ type: 'ready' });
  process.on('message', async (message) => {
    if (message?.type !== 'stop') return;
    running = false;
    system.stop();
    await Promise.all(readers);
    process.send({ type: 'counts', counts }, () => process.exit(0));
  });
}

process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
