'use strict';
/**
 * Preloaded (`node -r`) into a server under test by `run.js --profile`, which spawns it with an IPC channel.
 * The message `cpu-profile:start` starts the V8 CPU profiler; `cpu-profile:stop` stops it, writes
 * `$BENCH_CPU_PROFILE` (a .cpuprofile for Chrome DevTools or summarize-profile.js) and answers
 * `cpu-profile:written`. Not signals: Nest's shutdown hooks treat SIGUSR2 as a shutdown, and --cpu-prof only
 * writes at a normal exit, while only the timed rounds are of interest.
 */
const inspector = require('node:inspector');
const fs = require('node:fs');

if (process.send) {
  const session = new inspector.Session();
  session.connect();
  process.channel.unref();
  process.on('message', (message) => {
    if (message === 'cpu-profile:start') {
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 250 }, () => session.post('Profiler.start')),
      );
    } else if (message === 'cpu-profile:stop') {
      session.post('Profiler.stop', (error, result) => {
        if (error) process.stderr.write(`cpu profile failed: ${error.message}\n`);
        else fs.writeFileSync(process.env.BENCH_CPU_PROFILE, JSON.stringify(result.profile));
        process.send('cpu-profile:written');
      });
    }
  });
}
