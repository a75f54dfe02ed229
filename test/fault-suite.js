#!/usr/bin/env node
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The fault suite: every e2e scenario that breaks something on purpose (a killed or terminated lock holder, Redis
 * paused, stopped or failing over (Sentinel, Cluster), WeChat busy, an invalid-report storm, WeChat's retries across instances, slow
 * handlers), run as one command, then a summary table of what callers saw.
 *
 *   npm run test:fault            runs the fault specs (real processes, real redis-server, the simulator) and prints the table
 *   node test/fault-suite.js --report
 *                                 prints the table of the last run only (`.ci/run` does this after `npm test`, which runs
 *                                 the same specs)
 *
 * Each scenario's figures are written by its test (test/support/fault-report.ts) after its assertions passed, so a row
 * exists only for a scenario that held. The table also goes to .test-artifacts/fault-report.md.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const REPORT = process.env.WXHUB_FAULT_REPORT ?? path.join(ROOT, '.test-artifacts', 'fault-report.jsonl');
const TABLE = path.join(path.dirname(REPORT), 'fault-report.md');
const SPECS = [
  'test/fleet.e2e-spec.ts',
  'test/redis-outage.e2e-spec.ts',
  'test/redis-long-outage.e2e-spec.ts',
  'test/redis-sentinel.e2e-spec.ts',
  'test/redis-cluster.e2e-spec.ts',
  'test/shutdown.e2e-spec.ts',
  'test/callback.e2e-spec.ts',
];

function table() {
  if (!fs.existsSync(REPORT)) return 'no fault scenario was recorded';
  const rows = fs
    .readFileSync(REPORT, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  const cell = (value, digits = 0) =>
    value === null || value === undefined ? '–' : typeof value === 'number' ? value.toFixed(digits) : String(value);
  const lines = [
    '| Scenario | Invalid tokens served | Errors to callers | Recovery (s) | Notes |',
    '|---|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${cell(r.invalidServed)} | ${cell(r.callerErrors)} | ${cell(r.recoverySeconds, 2)} | ${r.note} |`,
    ),
  ];
  return `${lines.join('\n')}\n\n${rows.length} scenarios recorded.`;
}

function print() {
  const text = table();
  fs.mkdirSync(path.dirname(TABLE), { recursive: true });
  fs.writeFileSync(TABLE, `# Fault suite (${new Date().toISOString()})\n\n${text}\n`);
  process.stdout.write(`\nFault suite summary:\n\n${text}\n`);
}

if (process.argv.includes('--report')) {
  print();
  process.exit(0);
}

fs.rmSync(REPORT, { force: true });
const specs = SPECS.filter((spec) => fs.existsSync(path.join(ROOT, spec)));
const jest = spawnSync(
  process.execPath,
  [require.resolve('jest/bin/jest'), '--runInBand', ...specs, '--selectProjects', 'e2e'],
  { cwd: ROOT, stdio: 'inherit' },
);
print();
process.exit(jest.status ?? 1);
