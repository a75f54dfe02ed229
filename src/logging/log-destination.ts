import pino, { type DestinationStream } from 'pino';
import type { SecretScrubber } from './secret-scrubber';

/** Where the hub's log lines go: standard output, every line scrubbed of known secret values first. */
export interface LogDestinationOptions {
  scrubber: SecretScrubber;
  /** Human-readable lines instead of JSON (a developer's terminal). */
  pretty?: boolean;
  /** Default: standard output, written synchronously (in order with other writes, nothing lost at exit). */
  sink?: { write(chunk: string): unknown };
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
  const sink = options.sink ?? pino.destination({ dest: 1, sync: true });
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
