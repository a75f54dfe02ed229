import type { Redis } from 'ioredis';
import type { AuditEntry, AuditRecord } from './audit-entry';
import { matchesAuditQuery, type AuditQuery, type AuditStore } from './audit-store';

/** Entries read per XREVRANGE while filtering. */
const SCAN_BATCH = 500;

/**
 * The audit log of a fleet: one Redis stream `<prefix>:audit`, capped with `XADD … MAXLEN ~ maxEntries` (Redis trims
 * whole stream nodes, so the stream may hold up to ~100 entries more than the cap). A single key: on Redis Cluster
 * it lives on one shard, which is fine for a low-rate log.
 */
export class RedisAuditStore implements AuditStore {
  readonly key: string;

  constructor(
    private readonly redis: Pick<Redis, 'xadd' | 'xrevrange'>,
    keyPrefix: string,
    private readonly maxEntries: number,
    readonly description: string,
  ) {
    this.key = `${keyPrefix}:audit`;
  }

  async append(record: AuditRecord): Promise<string> {
    const id = await this.redis.xadd(
      this.key,
      'MAXLEN',
      '~',
      this.maxEntries,
      '*',
      'e',
      JSON.stringify(record),
    );
    return id ?? '';
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const filtered = query.appId !== undefined || query.action !== undefined;
    const batch = filtered ? Math.max(query.limit, SCAN_BATCH) : query.limit;
    const found: AuditEntry[] = [];
    let end = query.before === undefined ? '+' : `(${query.before}`;
    // a filter may have to read the whole (capped) stream, never more
    let budget = this.maxEntries + 200;
    while (found.length < query.limit && budget > 0) {
      const rows = await this.redis.xrevrange(this.key, end, '-', 'COUNT', Math.min(batch, budget));
      for (const [id, fields] of rows) {
        const entry = parse(id, fields);
        if (entry && matchesAuditQuery(entry, query)) {
          found.push(entry);
          if (found.length === query.limit) break;
        }
      }
      if (rows.length < Math.min(batch, budget)) break;
      budget -= rows.length;
      end = `(${rows[rows.length - 1]![0]}`;
    }
    return found;
  }
}

function parse(id: string, fields: string[]): AuditEntry | undefined {
  const at = fields.indexOf('e');
  if (at < 0 || at + 1 >= fields.length) return undefined;
  try {
    return { id, ...(JSON.parse(fields[at + 1]!) as AuditRecord) };
  } catch {
    return undefined;
  }
}
