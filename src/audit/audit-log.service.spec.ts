import { Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import type { AuditRecord } from './audit-entry';
import { AuditLog } from './audit-log.service';
import type { AuditStore } from './audit-store';
import { MemoryAuditStore } from './memory-audit-store';

describe('AuditLog', () => {
  it('stamps time, instance and actor (internal by default) and stores nothing but the event fields', async () => {
    const store = new MemoryAuditStore(10);
    const log = new AuditLog(store);

    const id = await log.record({ action: 'quota.clear', appId: 'wxaaaaaaaaaaaaaaaa', result: 'ok' });
    await log.record({
      action: 'token.force_refresh',
      actor: { id: 'key#0123abcd', ip: '10.1.2.3' },
      result: 'refused',
      reason: 'x'.repeat(500),
    });

    const [forced, cleared] = await log.list({ limit: 10 });
    expect(cleared).toEqual({
      id,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      action: 'quota.clear',
      appId: 'wxaaaaaaaaaaaaaaaa',
      actor: 'internal',
      ip: null,
      result: 'ok',
      reason: null,
      errcode: null,
      rid: null,
      version: null,
      instance: expect.stringContaining(`:${process.pid}`),
      details: null,
    });
    expect(forced).toMatchObject({ actor: 'key#0123abcd', ip: '10.1.2.3', result: 'refused' });
    expect(forced!.reason).toHaveLength(200);
  });

  it('a store failure never reaches the caller: it is counted, in the metric too, and warned about at most every 30 s', async () => {
    const failing: AuditStore = {
      description: 'broken',
      append: (_record: AuditRecord) => Promise.reject(new Error('Connection is closed.')),
      list: () => Promise.resolve([]),
    };
    const metrics = new MetricsService();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = new AuditLog(failing, metrics);

    const results = await Promise.all(
      [1, 2, 3].map(() => log.record({ action: 'accounts.reload', result: 'ok' })),
    );

    expect(results).toEqual([undefined, undefined, undefined]);
    expect(log.writeFailures).toBe(3);
    expect(await metrics.metrics()).toContain('wxhub_audit_write_failures_total 3');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(
      /audit entry not stored \(accounts.reload\): Connection is closed/,
    );
  });
});
