import { createHash, timingSafeEqual } from 'node:crypto';
import { keyDigest, keyFingerprint } from './client-key';
import { CLIENT_SCOPES } from './client-scope';
import { EVERY_APP_ID, type ClientDefinition } from './clients-parser';
import type { Principal } from './principal';

/** How many distinct presented keys that resolved are remembered (see ClientRegistry). */
const MAX_VERIFIED_KEYS = 256;

/** What a registry holds: the admin keys (plain, from ADMIN_API_KEYS) and the validated clients. */
export interface ClientSet {
  adminKeys: readonly string[];
  clients: readonly ClientDefinition[];
}

/** Why a presented `Authorization` header gave no principal (both are a 401). */
export type Unresolved = 'missing' | 'unknown';

interface Snapshot {
  readonly entries: readonly { digest: Buffer; principal: Principal }[];
  /** Presented keys that resolved, so a key sent again costs a map lookup; dropped with the snapshot. */
  readonly verified: Map<string, Principal>;
  readonly revision: string;
  readonly clientCount: number;
}

/**
 * The principals of this instance: every ADMIN_API_KEYS key (every scope on every account) and every configured
 * client (its scopes on its accounts). Replaced whole by {@link replace}, so a request sees either the old set or
 * the new one, and a removed client resolves to nothing from the next request on.
 *
 * Resolving a key hashes it once (SHA-256) and compares the digest with `timingSafeEqual` against EVERY known
 * digest, with no early exit, so neither the length, the position nor the prefix of a key leaks through timing. A
 * key that resolved is remembered (at most MAX_VERIFIED_KEYS, all forgotten when full and on every replace), so a
 * service sending its key again costs a map lookup. Only keys that resolved are kept, so a wrong key always goes
 * through the digests; the lookup is by V8's per-process seeded string hash, whose timing says nothing about a key.
 *
 * Instances: every instance reads the same clients (WECHAT_CLIENTS, or the watched WECHAT_ACCOUNTS_FILE, polled each
 * second), and a reload calls {@link replace}. {@link revision} identifies the content, so a fleet-wide "clients
 * changed" notice (pub/sub) can carry it and an instance whose revision differs re-reads its configuration.
 */
export class ClientRegistry {
  private snapshot: Snapshot;
  private readonly listeners = new Set<(revision: string) => void>();

  constructor(set: ClientSet) {
    this.snapshot = build(set);
  }

  /** Swaps in a new set at once; then tells the listeners (onReplace) with the new revision. */
  replace(set: ClientSet): void {
    this.snapshot = build(set);
    for (const listener of this.listeners) listener(this.snapshot.revision);
  }

  /** Calls `listener` with the new revision after each replace. Returns the unsubscribe. */
  onReplace(listener: (revision: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A digest of the whole set (names, key digests, scopes, accounts): equal on two instances = same principals. */
  get revision(): string {
    return this.snapshot.revision;
  }

  /** Whether any key at all is configured (none = every authenticated route refuses every call). */
  get empty(): boolean {
    return this.snapshot.entries.length === 0;
  }

  /** How many clients (not admin keys) are configured. */
  get clientCount(): number {
    return this.snapshot.clientCount;
  }

  /** The principal whose key is `presentedKey`, or undefined. Timing-safe (see the class). */
  resolve(presentedKey: string): Principal | undefined {
    const snapshot = this.snapshot;
    const remembered = snapshot.verified.get(presentedKey);
    if (remembered) return remembered;
    const presented = keyDigest(presentedKey);
    let found: Principal | undefined;
    for (const entry of snapshot.entries) {
      if (timingSafeEqual(entry.digest, presented)) found ??= entry.principal;
    }
    if (found) {
      if (snapshot.verified.size >= MAX_VERIFIED_KEYS) snapshot.verified.clear();
      snapshot.verified.set(presentedKey, found);
    }
    return found;
  }

  /**
   * The principal of an `Authorization: Bearer <key>` header whose key already resolved on this instance (since the
   * last replace), else undefined: a map lookup, no digest. For hot paths that fall back to {@link resolve}.
   */
  recallAuthorization(authorization: string | undefined): Principal | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return match?.[1] ? this.snapshot.verified.get(match[1]) : undefined;
  }

  /**
   * The principal of an `Authorization: Bearer <key>` header; `missing` when there is no such header, `unknown`
   * when its key is nobody's. Both are a 401; only `unknown` is a guessed key (see AuthFailureLimiter).
   */
  resolveAuthorization(authorization: string | undefined): Principal | Unresolved {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return 'missing';
    return this.resolve(match[1]) ?? 'unknown';
  }
}

function build({ adminKeys, clients }: ClientSet): Snapshot {
  const allScopes = new Set(CLIENT_SCOPES);
  const entries = [
    ...adminKeys.map((key) => {
      const digest = keyDigest(key);
      const keyId = keyFingerprint(digest);
      const principal: Principal = Object.freeze({
        kind: 'admin',
        name: 'admin',
        keyId,
        actorId: keyId,
        scopes: allScopes,
        appIds: EVERY_APP_ID,
      });
      return { digest, principal };
    }),
    ...clients.map((client) => {
      const principal: Principal = Object.freeze({
        kind: 'client',
        name: client.name,
        keyId: keyFingerprint(client.keySha256),
        actorId: `client:${client.name}`,
        scopes: new Set(client.scopes),
        appIds: client.appIds === EVERY_APP_ID ? EVERY_APP_ID : new Set(client.appIds),
      });
      return { digest: Buffer.from(client.keySha256), principal };
    }),
  ];
  return { entries, verified: new Map(), revision: revisionOf(entries), clientCount: clients.length };
}

function revisionOf(entries: readonly { digest: Buffer; principal: Principal }[]): string {
  const lines = entries.map(({ digest, principal }) =>
    [
      principal.kind,
      principal.name,
      digest.toString('hex'),
      [...principal.scopes].sort().join(','),
      principal.appIds === EVERY_APP_ID ? EVERY_APP_ID : [...principal.appIds].sort().join(','),
    ].join(' '),
  );
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex').slice(0, 16);
}
