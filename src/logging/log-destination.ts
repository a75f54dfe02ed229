import pino, { type DestinationStream } from 'pino';
import type { SecretScrubber } from './secret-scrubber';

/** Where the hub's log lines go: standard output, every line scrubbed of known secret values first. */
export interface LogDestinationOptions {
  scrubber: SecretScrubber;
  /** Human-readable lines instead of JSON (a developer's terminal). */
  pretty?: boolean;
  /** Default: standard output (see stdoutSink); a given sink gets each line at once. */
  sink?: { write(chunk: string): unknown };
}

/** Lines held for one event-loop turn at most; a batch reaching this size is written at once. */
const MAX_BATCH_CHARS = 64 * 1024;

/**
 * Standard output for log lines, shared by every logger of the process: the lines written during one turn of the
 * event loop go out in one synchronous write when the turn ends (setImmediate), in order, instead of one write per
 * line — under load a turn answers many requests, and a write per line cost more than building the line. When the
 * process exits (a normal stop, process.exit, an uncaught exception) the batch is written first, so only a kill
 * without an exit (SIGKILL, out of memory) can lose the lines of the turn in progress.
 */
class StdoutBatch {
  private readonly out = pino.destination({ dest: 1, sync: true });
  private pending = '';
  private scheduled = false;

  constructor() {
    process.once('exit', () => this.flushSync());
  }

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= MAX_BATCH_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater).unref();
    }
  }

  flushSync(): void {
    this.flush();
    this.out.flushSync();
  }

  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.pending === '') return;
    const batch = this.pending;
    this.pending = '';
    this.out.write(batch);
  }
}

let stdout: StdoutBatch | undefined;

/** The process's standard output for log lines (see StdoutBatch). */
export function stdoutSink(): { write(chunk: string): unknown; flushSync(): void } {
  stdout ??= new StdoutBatch();
  return stdout;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const SHOWN_FIRST = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'context', 'reqId', 'appId']);

/**
 * A pino destination that scrubs each serialized line (see SecretScrubber) before writing it. With `pretty`,
 * lines become `12:00:00.000 INFO  [Context] message {reqId appId} extra=…` instead of JSON.
 */
export function logDestination(options: LogDestinationOptions): DestinationStream & { flushSync?(): void } {
  const sink = options.sink ?? stdoutSink();
  const { scrubber } = options;
  const pretty = options.pretty === true;
  return {
    write(line: string): void {
      const clean = scrubber.scrub(line);
      sink.write(pretty ? prettyLine(clean) : clean);
    },
    flushSync(): void {
      const flushable = sink as { flushSync?(): void };
      flushable.flushSync?.();
    },
  };
}

/** A JSON log line as one readable line; a line that is not JSON is passed through. */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const at = typeof entry.time === 'number' || typeof entry.time === 'string' ? new Date(entry.time) : null;
  const time = at && !Number.isNaN(at.getTime()) ? at.toISOString().slice(11, 23) : '';
  const level = LEVEL_NAMES[Number(entry.level)] ?? String(entry.level);
  const context = entry.context === undefined ? '' : ` [${String(entry.context)}]`;
  const request = [entry.reqId, entry.appId].filter((v) => v !== undefined).join(' ');
  const extra = Object.entries(entry)
    .filter(([key]) => !SHOWN_FIRST.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${level}${context} ${String(entry.msg ?? '')}${request ? ` {${request}}` : ''}${extra ? ` ${extra}` : ''}\n`;
}
