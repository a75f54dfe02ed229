import { spawn } from 'node:child_process';
import { join } from 'node:path';

/*
 * The hub's log lines reach standard output in batches, one write per event-loop turn (logDestination's default
 * sink). A batch must not wait for more lines, and no line may be lost or reordered when the process ends — by a
 * normal exit, process.exit or an uncaught exception. Each case runs a real node process on the built library.
 */

const DESTINATION = join(__dirname, '..', 'dist', 'logging', 'log-destination.js');
const SCRUBBER = join(__dirname, '..', 'dist', 'logging', 'secret-scrubber.js');

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
  /** ms from start to the first byte on stdout */
  firstOutputMs?: number;
}

function runNode(body: string, until?: (stdout: string) => boolean): Promise<Run> {
  const script = `
    const { logDestination } = require(${JSON.stringify(DESTINATION)});
    const { SecretScrubber } = require(${JSON.stringify(SCRUBBER)});
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({ accounts: [{ appSecret: 'log-output-secret-0001' }], apiKeys: [] });
    const out = logDestination({ scrubber });
    const line = (i) => out.write(JSON.stringify({ level: 30, n: i, msg: 'line ' + i }) + '\\n');
    const writeAll = () => { for (let i = 0; i < ${COUNT}; i++) line(i); };
    ${body}
  `;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { stdout: '', stderr: '', code: null };
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      run.firstOutputMs ??= Date.now() - started;
      run.stdout += chunk.toString();
      if (until?.(run.stdout)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      run.code = code;
      resolve(run);
    });
  });
}

function numbers(stdout: string): number[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { n: number }).n);
}

const COUNT = 5_000;
const ALL = Array.from({ length: COUNT }, (_, i) => i);

describe('log lines on standard output', () => {
  it('writes every line, in order and scrubbed, at the end of the turn that wrote it', async () => {
    // the process stays up for 10 s after its lines: they must arrive long before that
    const run = await runNode(
      `writeAll();
       out.write('{"level":40,"msg":"log-output-secret-0001 leaked?"}\\n');
       setTimeout(() => {}, 10_000);`,
      (stdout) => stdout.includes('leaked?'),
    );
    expect(numbers(run.stdout)).toEqual(ALL);
    expect(run.stdout).not.toContain('log-output-secret-0001');
    expect(run.stdout).toContain('[redacted] leaked?');
    expect(run.firstOutputMs).toBeLessThan(5_000);
  });

  it.each([
    ['process.exit', 'process.exit(3)', 3],
    ['an uncaught exception', "throw new Error('boom')", 1],
    ['the event loop running out', '', 0],
  ])('loses no line when the process ends by %s', async (_name, ending, code) => {
    const run = await runNode(`writeAll(); ${ending}`);
    expect(run.code).toBe(code);
    if (code === 1) expect(run.stderr).toContain('Error: boom');
    expect(numbers(run.stdout)).toEqual(ALL);
  });
});
