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
}

/** Rolling-hash constants: the window is the shortest scrubbed value, the filter 2^16 bits. */
const WINDOW = MIN_SCRUBBED_LENGTH;
const BASE = 0x01000193;
const FILTER_BITS = 16;
const FILTER_MASK = (1 << FILTER_BITS) - 1;
/** BASE^(WINDOW-1) mod 2^32, to take the outgoing character out of the rolling hash. */
const OUTGOING = Array.from({ length: WINDOW - 1 }).reduce<number>((power) => Math.imul(power, BASE), 1);

function windowHash(text: string, start: number): number {
  let hash = 0;
  for (let i = start; i < start + WINDOW; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * The last line of defence against a secret in the logs: replaces every known secret VALUE in a serialized log line
 * by `[redacted]`, whatever field or message carried it. Knows the configured AppSecrets, EncodingAESKeys, callback
 * tokens and admin API keys (replaced secrets are kept, since an old value is still a secret), and the last
 * {@link LEARNED_PER_ACCOUNT} access tokens and tickets of each account the hub learned.
 *
 * NOTE: a line is scanned once whatever the number of known values (Rabin-Karp): a rolling hash of each window of
 * {@link MIN_SCRUBBED_LENGTH} characters is tested against a bit filter of the values' first windows, and only a hit
 * compares the candidate values in place. Looking for each value in turn cost ~150 ns per value and line.
 */
export class SecretScrubber {
  private readonly configured = new Set<string>();
  private readonly learned = new Map<string, string[]>();
  /** Values by the hash of their first window, longest first (a value that contains another is replaced whole). */
  private candidates = new Map<number, string[]>();
  private filter = new Uint8Array(1 << FILTER_BITS);
  private count = 0;
  private dirty = false;

  /** Adds the secrets of a configuration (boot or reload). */
  addConfigured(secrets: ConfiguredSecrets): void {
    for (const account of secrets.accounts) {
      this.addValue(account.appSecret);
      this.addValue(account.token);
      this.addValue(account.encodingAESKey);
    }
    for (const key of secrets.apiKeys) this.addValue(key);
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
    return this.count;
  }

  /** `line` with every known secret value replaced by `[redacted]`. */
  scrub(line: string): string {
    if (this.dirty) this.rebuild();
    if (this.count === 0 || line.length < WINDOW) return line;
    let out = '';
    let copied = 0;
    // the redaction being built: overlapping matches (two secrets sharing characters) merge into one
    let from = -1;
    let to = 0;
    let hash = windowHash(line, 0);
    const last = line.length - WINDOW;
    for (let start = 0; ; start++) {
      const match = this.filter[hash & FILTER_MASK] === 1 ? this.matchAt(line, start, hash) : undefined;
      if (match !== undefined) {
        if (start >= to) {
          if (from >= 0) out += line.slice(copied, from) + REDACTED;
          if (from >= 0) copied = to;
          from = start;
        }
        to = Math.max(to, start + match.length);
      }
      if (start === last) break;
      hash =
        (Math.imul(hash - Math.imul(line.charCodeAt(start), OUTGOING), BASE) +
          line.charCodeAt(start + WINDOW)) |
        0;
    }
    if (from < 0) return line;
    return out + line.slice(copied, from) + REDACTED + line.slice(to);
  }

  private matchAt(line: string, start: number, hash: number): string | undefined {
    const values = this.candidates.get(hash);
    if (values === undefined) return undefined;
    for (const value of values) if (line.startsWith(value, start)) return value;
    return undefined;
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
    const candidates = new Map<number, string[]>();
    const filter = new Uint8Array(1 << FILTER_BITS);
    for (const value of [...all].sort((a, b) => b.length - a.length)) {
      const hash = windowHash(value, 0);
      filter[hash & FILTER_MASK] = 1;
      const list = candidates.get(hash);
      if (list) list.push(value);
      else candidates.set(hash, [value]);
    }
    this.candidates = candidates;
    this.filter = filter;
    this.count = all.size;
    this.dirty = false;
  }
}
