import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Counter } from 'prom-client';
import { labelledChildren } from './labelled-children';
import { MetricsService } from './metrics.service';

/** How often the per-key summary of successful reads is logged (only when there were reads). */
export const READ_SUMMARY_INTERVAL_MS = 60_000;
/** Entries of one summary line at most (the busiest first); the rest are added up in `others`. */
const MAX_SUMMARY_ENTRIES = 100;

/** One line of the periodic summary: who read which account through which route, how often. */
export interface ReadSummaryEntry {
  reader: string;
  appId: string;
  route: string;
  reads: number;
}

/**
 * Successful token reads, counted instead of logged one line each (a runaway client would fill the disk):
 * `wxhub_token_reads_total{app_id, route}` in `/metrics`, and every READ_SUMMARY_INTERVAL_MS one `token reads`
 * line with the counts per reader (API key id), account and route — bounded by keys × accounts, never by
 * the request rate. Failed and refused reads are logged like every other request.
 */
@Injectable()
export class TokenReads implements OnApplicationShutdown {
  private readonly logger = new Logger('TokenReads');
  private readonly total: Counter<'app_id' | 'route' | 'client'>;
  /** A read costs a map lookup, not a label hash. */
  private readonly totalOf = labelledChildren((appId, route, client) =>
    this.total.labels(appId, route, client),
  );
  private tally = new Map<string, ReadSummaryEntry>();
  private readonly timer: NodeJS.Timeout;

  constructor(metrics: MetricsService) {
    this.total = new Counter({
      name: 'wxhub_token_reads_total',
      help: 'Successful token and ticket reads answered by this process, by account, route and client',
      labelNames: ['app_id', 'route', 'client'] as const,
      registers: [metrics.registry],
    });
    this.timer = setInterval(() => this.logSummary(), READ_SUMMARY_INTERVAL_MS).unref();
  }

  /**
   * A successful read of `appId` through `route` (the route's pattern) by `reader` (`key#…`, `client:<name>`, or an
   * address), whose client is `client` (its name; `admin` for an admin key).
   */
  count(route: string, appId: string, reader: string, client = 'none'): void {
    this.totalOf(appId, route, client).inc();
    const tallyKey = `${reader}\n${route}\n${appId}\n${client}`;
    const entry = this.tally.get(tallyKey);
    if (entry === undefined) this.tally.set(tallyKey, { reader, appId, route, reads: 1 });
    else entry.reads++;
  }

  /** The reads counted since the last summary (and forgets them), busiest first. */
  takeSummary(): ReadSummaryEntry[] {
    const entries = [...this.tally.values()].sort((a, b) => b.reads - a.reads);
    this.tally = new Map();
    return entries;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.logSummary();
  }

  private logSummary(): void {
    const entries = this.takeSummary();
    if (entries.length === 0) return;
    const shown = entries.slice(0, MAX_SUMMARY_ENTRIES);
    const others = entries.slice(MAX_SUMMARY_ENTRIES).reduce((sum, entry) => sum + entry.reads, 0);
    const reads = entries.reduce((sum, entry) => sum + entry.reads, 0);
    this.logger.log({ msg: 'token reads', reads, readers: shown, ...(others > 0 ? { others } : {}) });
  }
}
