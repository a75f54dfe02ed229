import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

/**
 * Jest globalSetup of the e2e project: compiles src/ to dist/ once so that tests can spawn
 * `dist/main.js` and `dist/sandbox/main.js` as real processes. `WXHUB_SKIP_BUILD=1` reuses dist/ as is.
 */
export default function globalSetup(): void {
  if (process.env.WXHUB_SKIP_BUILD === '1') return;

  // The project's own tsc, as `npx tsc` would pick, without npx's start-up cost and warnings.
  const tsc = require.resolve('typescript/bin/tsc', { paths: [repoRoot] });
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  if (build.status === 0) return;

  const output = `${build.stdout}${build.stderr}`.trim();
  throw new Error(
    `e2e build failed: \`tsc -p tsconfig.build.json\` (${describeFailure(build)}).\n` +
      'The e2e tests run the compiled service from dist/; fix the errors below, ' +
      'or set WXHUB_SKIP_BUILD=1 to run against the dist/ that is already there.\n\n' +
      (output === '' ? '(tsc printed nothing)' : output),
  );
}

function describeFailure(build: SpawnSyncReturns<string>): string {
  if (build.error) return build.error.message;
  if (build.signal !== null) return `killed by ${build.signal}`;
  return `exit code ${String(build.status)}`;
}
