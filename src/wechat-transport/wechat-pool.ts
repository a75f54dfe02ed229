import { Pool } from 'undici';

/** What one user of a pool asks of it. */
export interface PoolShare {
  /** Connections this user may need at once; the pool opens with the sum of its users' shares. */
  connections: number;
  /** Longest wait for a TCP/TLS connection; a socket serves every user, so the pool keeps the shortest. */
  connectTimeoutMs: number;
}

/** A view of one origin's pool, for tests and diagnostics. */
export interface PoolInfo {
  origin: string;
  /** Users holding a lease. */
  users: number;
  /** Whether the undici Pool exists yet (it opens at the first request). */
  open: boolean;
  /** The pool's connection limit once open, else what it would open with. */
  connections: number;
  connectTimeoutMs: number;
}

const KEEP_ALIVE_MS = 30_000;
const CLOSE_GRACE_MS = 2_000;

interface Entry {
  origin: string;
  shares: Map<Lease, PoolShare>;
  pool?: Pool;
  connections: number;
  connectTimeoutMs: number;
}

const entries = new Map<string, Entry>();

/**
 * One user's hold on the process-wide pool of an origin. The pool opens at the first request made through any
 * lease, with the sum of the shares known then (a user joining later shares what is there), and closes when the
 * last lease is released.
 */
export interface PoolLease {
  /** The shared undici Pool (opened on first use). */
  readonly pool: Pool;
  /**
   * Gives the lease back (a second call does nothing). The last one closes the pool: calls in flight get 2 s
   * to finish, then whatever is left (a download nobody consumed) is dropped.
   */
  release(): Promise<void>;
}

class Lease implements PoolLease {
  private released = false;

  constructor(private readonly entry: Entry) {}

  get pool(): Pool {
    if (this.released) throw new Error(`the pool lease for ${this.entry.origin} was released`);
    const entry = this.entry;
    if (!entry.pool) {
      let connections = 0;
      let connectTimeoutMs = Number.POSITIVE_INFINITY;
      for (const share of entry.shares.values()) {
        connections += share.connections;
        connectTimeoutMs = Math.min(connectTimeoutMs, share.connectTimeoutMs);
      }
      entry.connections = connections;
      entry.connectTimeoutMs = connectTimeoutMs;
      entry.pool = new Pool(entry.origin, {
        connections,
        connectTimeout: connectTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_MS,
      });
    }
    return entry.pool;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const entry = this.entry;
    entry.shares.delete(this);
    if (entry.shares.size > 0) return;
    if (entries.get(entry.origin) === entry) entries.delete(entry.origin);
    const pool = entry.pool;
    if (!pool) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pool.close().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    await pool.destroy().catch(() => undefined);
  }
}

/**
 * A lease on the one undici Pool this process keeps for `origin` (`https://api.weixin.qq.com`): every client of
 * WeChat shares its keep-alive connections instead of opening its own. Release the lease on shutdown.
 */
export function leaseWechatPool(origin: string, share: PoolShare): PoolLease {
  const key = new URL(origin).origin;
  let entry = entries.get(key);
  if (!entry) {
    entry = { origin: key, shares: new Map(), connections: 0, connectTimeoutMs: 0 };
    entries.set(key, entry);
  }
  const lease = new Lease(entry);
  entry.shares.set(lease, share);
  return lease;
}

/** The pools this process holds, one per origin. */
export function wechatPools(): PoolInfo[] {
  return [...entries.values()].map((entry) => {
    const shares = [...entry.shares.values()];
    return {
      origin: entry.origin,
      users: shares.length,
      open: entry.pool !== undefined,
      connections: entry.pool ? entry.connections : shares.reduce((sum, share) => sum + share.connections, 0),
      connectTimeoutMs: entry.pool
        ? entry.connectTimeoutMs
        : Math.min(...shares.map((share) => share.connectTimeoutMs)),
    };
  });
}
