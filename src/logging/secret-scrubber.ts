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

/**
 * The last line of defence against a secret in the logs: replaces every known secret VALUE in a serialized log line
 * by `[redacted]`, whatever field or message carried it. Knows the configured AppSecrets, EncodingAESKeys, callback
 * tokens and admin API keys (replaced secrets are kept, since an old value is still a secret), and the last
 * {@link LEARNED_PER_ACCOUNT} access tokens and tickets of each account the hub learned.
 */
export class SecretScrubber {
  private readonly configured = new Set<string>();
  private readonly learned = new Map<string, string[]>();
  /** Every value to look for, longest first (a value that contains another is replaced whole). */
  private values: string[] = [];
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
    this.rebuild();
    return this.values.length;
  }

  /** `line` with every known secret value replaced by `[redacted]`. */
  scrub(line: string): string {
    if (this.dirty) this.rebuild();
    let result = line;
    for (const value of this.values) {
      if (result.includes(value)) result = result.split(value).join(REDACTED);
    }
    return result;
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
    if (!this.dirty) return;
    const all = new Set(this.configured);
    for (const recent of this.learned.values()) for (const value of recent) all.add(value);
    this.values = [...all].sort((a, b) => b.length - a.length);
    this.dirty = false;
  }
}
