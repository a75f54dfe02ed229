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

/** A decoded view of a line: `text`, and for each of its characters the range of the line it came from. */
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

/**
 * One round of decoding `source` (a line, or the previous round's view): every well-formed `%XX` (either case) to
 * its byte, `+` to a space; in the first round also every other character to its UTF-8 bytes, so an escape of one
 * byte of a character lines up with the raw characters around it. Undefined when a later round changes nothing.
 */
function decodeRound(source: DecodedView | string): DecodedView | undefined {
  const first = typeof source === 'string';
  const text = first ? source : source.text;
  const codes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const startOf = (i: number): number => (first ? i : source.starts[i]!);
  const endOf = (i: number): number => (first ? i + 1 : source.ends[i]!);
  let changed = first;
  for (let i = 0; i < text.length;) {
    const code = text.charCodeAt(i);
    if (code === PERCENT && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      const byte = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2));
      codes.push(byte === PLUS ? SPACE : byte);
      starts.push(startOf(i));
      ends.push(endOf(i + 2));
      changed = true;
      i += 3;
    } else if (first && code >= 0x80) {
      const width = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length ? 2 : 1;
      for (const byte of Buffer.from(text.slice(i, i + width), 'utf8')) {
        codes.push(byte);
        starts.push(startOf(i));
        ends.push(endOf(i + width - 1));
      }
      i += width;
    } else {
      codes.push(code === PLUS ? SPACE : code);
      starts.push(startOf(i));
      ends.push(endOf(i));
      i += 1;
    }
  }
  if (!changed) return undefined;
  let decoded = '';
  for (let i = 0; i < codes.length; i += 4096) decoded += String.fromCharCode(...codes.slice(i, i + 4096));
  return { text: decoded, starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/** The ranges of `line` holding a known value once decoded (see decodeRound), or undefined. */
function findDecoded(index: ValueIndex, line: string): number[] | undefined {
  let ranges: number[] | undefined;
  let view = decodeRound(line);
  for (let round = 0; view !== undefined && round < MAX_DECODES; round++) {
    const found = index.find(view.text);
    if (found !== undefined) {
      ranges ??= [];
      for (let i = 0; i < found.length; i += 2)
        ranges.push(view.starts[found[i]!]!, view.ends[found[i + 1]! - 1]!);
    }
    view = view.text.includes('%') ? decodeRound(view) : undefined;
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
