import { hostname } from 'node:os';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { INTERNAL_ACTOR, type AuditEntry, type AuditEvent } from './audit-entry';
import { InjectAuditStore } from './audit.constants';
import type { AuditQuery, AuditStore } from './audit-store';

const WARN_EVERY_MS = 30_000;
const MAX_TEXT = 200;

/**
 * The audit log: who forced a refresh, reported a token invalid, reloaded the accounts or cleared a quota, when, and
 * what came of it (with WeChat's errcode and rid). Recording never fails the operation it describes: a store error is
 * logged (at most every 30 s) and counted in `wxhub_audit_write_failures_total`. Never holds a token or a secret.
 */
@Injectable()
export class AuditLog {
  private readonly logger = new Logger(AuditLog.name);
  private readonly instance = `${hostname()}:${process.pid}`;
  private readonly failureCounter: Counter | undefined;
  private failures = 0;
  private lastWarnedAt = 0;

  constructor(
    @InjectAuditStore() private readonly store: AuditStore,
    @Optional() metrics?: MetricsService,
  ) {
    this.failureCounter = metrics
      ? new Counter({
          name: 'wxhub_audit_write_failures_total',
          help: 'Audit entries that could not be stored (the operations themselves went on)',
          registers: [metrics.registry],
        })
      : undefined;
  }

  /** Where entries are kept (for operators). */
  get description(): string {
    return this.store.description;
  }

  /** Audit writes this process could not store. */
  get writeFailures(): number {
    return this.failures;
  }

  /** Stores one entry. Never rejects: resolves to the entry's id, or undefined when it could not be stored. */
  async record(event: AuditEvent): Promise<string | undefined> {
    const actor = event.actor ?? INTERNAL_ACTOR;
    try {
      return await this.store.append({
        time: new Date().toISOString(),
        action: event.action,
        appId: event.appId ?? null,
        actor: actor.id,
        ip: actor.ip ?? null,
        result: event.result,
        reason: event.reason === undefined ? null : event.reason.slice(0, MAX_TEXT),
        errcode: event.errcode ?? null,
        rid: event.rid ?? null,
        version: event.version ?? null,
        instance: this.instance,
        details: event.details ?? null,
      });
    } catch (error) {
      this.failures += 1;
      this.failureCounter?.inc();
      const now = Date.now();
      if (now - this.lastWarnedAt >= WARN_EVERY_MS) {
        this.lastWarnedAt = now;
        this.logger.warn(
          `audit entry not stored (${event.action}${event.appId ? ` of ${event.appId}` : ''}): ` +
            `${(error as Error).message}; ${this.failures} lost so far. The operation itself went on.`,
        );
      }
      return undefined;
    }
  }

  /** Newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]> {
    return this.store.list(query);
  }
}
