import type { AuditEntry, AuditRecord } from './audit-entry';
import { compareAuditIds, matchesAuditQuery, type AuditQuery, type AuditStore } from './audit-store';

/** The audit log of a single instance (no Redis): the newest `maxEntries` entries, in memory. */
export class MemoryAuditStore implements AuditStore {
  readonly description = 'in memory (this instance only)';
  private readonly entries: AuditEntry[] = [];
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly maxEntries: number) {}

  append(record: AuditRecord): Promise<string> {
    const now = Date.now();
    // the same id scheme as a Redis stream, so `before` pages the same way
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    const id = `${this.lastMs}-${this.seq}`;
    this.entries.push({ id, ...record });
    if (this.entries.length > this.maxEntries) this.entries.splice(0, this.entries.length - this.maxEntries);
    return Promise.resolve(id);
  }

  list(query: AuditQuery): Promise<AuditEntry[]> {
    const found: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && found.length < query.limit; i--) {
      const entry = this.entries[i]!;
      if (query.before !== undefined && compareAuditIds(entry.id, query.before) >= 0) continue;
      if (matchesAuditQuery(entry, query)) found.push(entry);
    }
    return Promise.resolve(found);
  }
}
