import { REDACTED } from './redact-url';

/** Values shorter than this are not scrubbed: replacing them would mangle ordinary words in every line. */
export const MIN_SCRUBBED_LENGTH = 6;
/** Tokens and tickets remembered per account and kind; the oldest is forgotten first. */
export const LEARNED_PER_ACCOUNT = 8;
/** Configured secrets remembered at most (current and replaced ones): a bound for a pathological reload loop. */
const MAX_CONFIGURED = 4_096;

/** The values a process must never print, by where they come from. */
export interface ConfiguredSecrets {
  accounts: readonly { appSecret: string; token?: string; encodingAESKey?: string }[];
  apiKeys: readonly string[];
  /** Passwords of the Redis data nodes and sentinels (see redisPasswords). */
  redisPasswords?: readonly string[];
}

/** Rolling-hash constants: the window is the shortest scrubbed value, the filter 2^16 bits. */
const WINDOW = MIN_SCRUBBED_LENGTH;
const BASE = 0x01000193;
const FILTER_BITS = 16;
const FILTER_MASK = (1 << FILTER_BITS) - 1;
/** BASE^(WINDOW-1) mod 2^32, to take the outgoing character out of the rolling hash. */
const OUTGOING = Array.from({ length: WINDOW - 1 }).reduce<number>((power) => Math.imul(power, BASE), 1);
/** Percent-decoding rounds of a line at most: a value encoded twice (`%2561`) is still found. */
const MAX_DECODES = 3;
const SPACE = 32;
const PLUS = 43;
const PERCENT = 37;

function windowHash(text: string, start: number): number {
  let hash = 0;
  for (let i = start; i < start + WINDOW; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * A set of values found in a text in one pass (Rabin-Karp): a rolling hash of each window of
 * {@link MIN_SCRUBBED_LENGTH} characters is tested against a bit filter of the values' first windows, and only a hit
 * compares the candidate values in place. Looking for each value in turn cost ~150 ns per value and line.
 */
class ValueIndex {
  readonly size: number;
  /** Values by the hash of their first window, longest first (a value that contains another is replaced whole). */
  private readonly candidates = new Map<number, string[]>();
  private readonly filter = new Uint8Array(1 << FILTER_BITS);

  constructor(values: Iterable<string>) {
    const all = [...new Set(values)].filter((value) => value.length >= WINDOW);
    for (const value of all.sort((a, b) => b.length - a.length)) {
      const hash = windowHash(value, 0);
      this.filter[hash & FILTER_MASK] = 1;
      const list = this.candidates.get(hash);
      if (list) list.push(value);
      else this.candidates.set(hash, [value]);
    }
    this.size = all.length;
  }

  /** The ranges of `text` holding a value, as [from, to, from, to…] ascending; overlapping matches merged. */
  find(text: string): number[] | undefined {
    if (this.size === 0 || text.length < WINDOW) return undefined;
    let ranges: number[] | undefined;
    let from = -1;
    let to = 0;
    let hash = windowHash(text, 0);
    const last = text.length - WINDOW;
    for (let start = 0; ; start++) {
      const match = this.filter[hash & FILTER_MASK] === 1 ? this.matchAt(text, start, hash) : undefined;
      if (match !== undefined) {
        if (start >= to) {
          if (from >= 0) (ranges ??= []).push(from, to);
          from = start;
        }
        to = Math.max(to, start + match.length);
      }
      if (start === last) break;
      hash =
        (Math.imul(hash - Math.imul(text.charCodeAt(start), OUTGOING), BASE) +
          text.charCodeAt(start + WINDOW)) |
        0;
    }
    if (from >= 0) (ranges ??= []).push(from, to);
    return ranges;
  }

  private matchAt(text: string, start: number, hash: number): string | undefined {
    const values = this.candidates.get(hash);
    if (values === undefined) return undefined;
    for (const value of values) if (text.startsWith(value, start)) return value;
    return undefined;
  }
}

/**
 * A value as compared in a decoded line: its UTF-8 bytes (one character each), `+` and space the same (a form
 * decodes `+` to a space; a secret's `+` may be written `%2B` or left as it is).
 */
function canonical(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1').replace(/\+/g, ' ');
}

/** A decoded view of part of a line: `text`, and for each of its characters the range of the line it came from. */
interface DecodedView {
  text: string;
  starts: Int32Array;
  ends: Int32Array;
}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

function hexValue(code: number): number {
  return code <= 57 ? code - 48 : (code | 32) - 87;
}

/** Buffers of the decoding rounds, reused from line to line (two: a round reads the previous one's). */
interface Scratch {
  bytes: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}
const scratch: Scratch[] = [0, 1].map(() => ({
  bytes: new Uint8Array(1024),
  starts: new Int32Array(1024),
  ends: new Int32Array(1024),
}));

function scratchFor(round: number, size: number): Scratch {
  const buffers = scratch[round % 2]!;
  if (buffers.bytes.length < size) {
    buffers.bytes = new Uint8Array(size);
    buffers.starts = new Int32Array(size);
    buffers.ends = new Int32Array(size);
  }
  return buffers;
}

/**
 * Round `round` of decoding `line[from, to)` (round 0) or the previous round's view: every well-formed `%XX` (either
 * case) to its byte, `+` to a space; in round 0 also every other character to its UTF-8 bytes, so the view is bytes
 * throughout and an escaped byte of a character lines up with the raw characters around it. Undefined when a later
 * round changes nothing. The view's ranges live in shared buffers: valid until the round after next.
 */
function decodeRound(
  source: string | DecodedView,
  from: number,
  to: number,
  round: number,
): DecodedView | undefined {
  const first = typeof source === 'string';
  const text = first ? source : source.text;
  // a UTF-16 unit takes 3 bytes at most (a surrogate pair 4 for 2)
  const { bytes, starts, ends } = scratchFor(round, (to - from) * 3);
  const sourceStarts = first ? undefined : source.starts;
  const sourceEnds = first ? undefined : source.ends;
  let n = 0;
  let changed = first;
  for (let i = from; i < to;) {
    const code = text.charCodeAt(i);
    let width = 1;
    if (code === PERCENT && i + 2 < to && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      const byte = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2));
      bytes[n++] = byte === PLUS ? SPACE : byte;
      width = 3;
      changed = true;
    } else if (code < 0x80 || !first) {
      bytes[n++] = code === PLUS ? SPACE : code;
    } else {
      const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < to;
      const point = pair ? (text.codePointAt(i) ?? code) : code;
      width = pair ? 2 : 1;
      const at = n;
      if (point < 0x800) {
        bytes[n++] = 0xc0 | (point >> 6);
      } else if (point < 0x10000) {
        bytes[n++] = 0xe0 | (point >> 12);
        bytes[n++] = 0x80 | ((point >> 6) & 0x3f);
      } else {
        bytes[n++] = 0xf0 | (point >> 18);
        bytes[n++] = 0x80 | ((point >> 12) & 0x3f);
        bytes[n++] = 0x80 | ((point >> 6) & 0x3f);
      }
      bytes[n++] = 0x80 | (point & 0x3f);
      for (let k = at; k < n; k++) {
        starts[k] = i;
        ends[k] = i + width;
      }
      i += width;
      continue;
    }
    starts[n - 1] = sourceStarts === undefined ? i : sourceStarts[i]!;
    ends[n - 1] = sourceEnds === undefined ? i + width : sourceEnds[i + width - 1]!;
    i += width;
  }
  if (!changed) return undefined;
  return {
    text: Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1'),
    starts: starts.subarray(0, n),
    ends: ends.subarray(0, n),
  };
}

/**
 * The ranges of `line` holding a known value once decoded (see decodeRound), or undefined. Only the JSON strings
 * holding a `%` or a `+` are decoded: a value is written inside one string, and the others were scanned as they are.
 */
function findDecoded(index: ValueIndex, line: string): number[] | undefined {
  let ranges: number[] | undefined;
  let searchFrom = 0;
  for (;;) {
    const percent = line.indexOf('%', searchFrom);
    const plus = line.indexOf('+', searchFrom);
    const at = percent === -1 ? plus : plus === -1 ? percent : Math.min(percent, plus);
    if (at === -1) break;
    const from = line.lastIndexOf('"', at) + 1;
    const quote = line.indexOf('"', at);
    const to = quote === -1 ? line.length : quote;
    let view = to - from >= WINDOW ? decodeRound(line, from, to, 0) : undefined;
    for (let round = 0; view !== undefined && round < MAX_DECODES; round++) {
      const found = index.find(view.text);
      if (found !== undefined) {
        ranges ??= [];
        for (let i = 0; i < found.length; i += 2) {
          ranges.push(view.starts[found[i]!]!, view.ends[found[i + 1]! - 1]!);
        }
      }
      view = view.text.includes('%') ? decodeRound(view, 0, view.text.length, round + 1) : undefined;
    }
    searchFrom = to + 1;
  }
  return ranges;
}

/** `line` with each range of `ranges` (any order, possibly overlapping) replaced by one `[redacted]`. */
function redactRanges(line: string, ranges: number[]): string {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  let out = '';
  let copied = 0;
  let from = -1;
  let to = 0;
  for (const [start, end] of pairs) {
    if (start >= to) {
      if (from >= 0) {
        out += line.slice(copied, from) + REDACTED;
        copied = to;
      }
      from = start;
    }
    to = Math.max(to, end);
  }
  return out + line.slice(copied, from) + REDACTED + line.slice(to);
}

/**
 * The last line of defence against a secret in the logs: replaces every known secret VALUE in a serialized log line
 * by `[redacted]`, whatever field or message carried it, and however it is written: as it is, JSON-escaped, or
 * percent-encoded in whole or in part (either case of hex, `+` for a space, encoded twice). Knows the configured
 * AppSecrets, EncodingAESKeys, callback tokens, admin API keys and Redis passwords (replaced secrets are kept, since
 * an old value is still a secret), and the last {@link LEARNED_PER_ACCOUNT} access tokens and tickets of each
 * account the hub learned.
 *
 * NOTE: a line is scanned once whatever the number of known values (see ValueIndex); only a line holding a `%` or a
 * `+` is scanned a second time, decoded.
 */
export class SecretScrubber {
  private readonly configured = new Set<string>();
  private readonly learned = new Map<string, string[]>();
  private raw = new ValueIndex([]);
  private decoded = new ValueIndex([]);
  private dirty = false;

  /** Adds the secrets of a configuration (boot or reload). */
  addConfigured(secrets: ConfiguredSecrets): void {
    for (const account of secrets.accounts) {
      this.addValue(account.appSecret);
      this.addValue(account.token);
      this.addValue(account.encodingAESKey);
    }
    for (const key of secrets.apiKeys) this.addValue(key);
    for (const password of secrets.redisPasswords ?? []) this.addValue(password);
  }

  /** Remembers a credential the hub came to hold (`kind`: `token`, `jsapi_ticket`…), bounded per account and kind. */
  learn(appId: string, kind: string, value: string): void {
    if (value.length < MIN_SCRUBBED_LENGTH) return;
    const key = `${appId}\u0000${kind}`;
    const recent = this.learned.get(key) ?? [];
    if (recent.includes(value)) return;
    recent.push(value);
    if (recent.length > LEARNED_PER_ACCOUNT) recent.shift();
    this.learned.set(key, recent);
    this.dirty = true;
  }

  /** How many values are looked for in each line. */
  get size(): number {
    if (this.dirty) this.rebuild();
    return this.raw.size;
  }

  /** `line` with every known secret value, in any of the forms above, replaced by `[redacted]`. */
  scrub(line: string): string {
    if (this.dirty) this.rebuild();
    if (this.raw.size === 0 || line.length < WINDOW) return line;
    const found = this.raw.find(line);
    const decoded = line.includes('%') || line.includes('+') ? findDecoded(this.decoded, line) : undefined;
    if (decoded === undefined) return found === undefined ? line : redactRanges(line, found);
    return redactRanges(line, found === undefined ? decoded : [...found, ...decoded]);
  }

  private addValue(value: string | undefined): void {
    if (value === undefined || value.length < MIN_SCRUBBED_LENGTH || this.configured.has(value)) return;
    if (this.configured.size >= MAX_CONFIGURED) {
      const oldest = this.configured.values().next();
      if (!oldest.done) this.configured.delete(oldest.value);
    }
    this.configured.add(value);
    // a value with characters JSON escapes appears escaped in a serialized line
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.configured.add(escaped);
    this.dirty = true;
  }

  private rebuild(): void {
    const all = new Set(this.configured);
    for (const recent of this.learned.values()) for (const value of recent) all.add(value);
    this.raw = new ValueIndex(all);
    this.decoded = new ValueIndex([...all].map(canonical));
    this.dirty = false;
  }
}
