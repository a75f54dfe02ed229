import { MetricsService } from './metrics.service';

describe('MetricsService', () => {
  it('replaces the token gauges on each update, so a removed account disappears', async () => {
    const metrics = new MetricsService();
    metrics.setTokenGauges([
      { appId: 'wxa', expiresIn: 100, forceRefreshBudgetLeft: 20 },
      { appId: 'wxb', expiresIn: null, forceRefreshBudgetLeft: 19 },
    ]);
    metrics.setTokenGauges([{ appId: 'wxb', expiresIn: 50, forceRefreshBudgetLeft: 18 }]);

    const text = await metrics.metrics();
    expect(text).not.toContain('app_id="wxa"');
    expect(text).toContain('wxhub_token_seconds_left{app_id="wxb"} 50');
    expect(text).toContain('wxhub_force_refresh_budget_left{app_id="wxb"} 18');
  });

  it('labels a failure without an errcode as "network"', async () => {
    const metrics = new MetricsService();
    metrics.upstreamError('wxa', undefined);
    metrics.upstreamError('wxa', 40164);

    const text = await metrics.metrics();
    expect(text).toContain('wxhub_upstream_errors_total{app_id="wxa",errcode="network"} 1');
    expect(text).toContain('wxhub_upstream_errors_total{app_id="wxa",errcode="40164"} 1');
  });

  it('keeps one registry per instance, so two apps in one process do not collide', async () => {
    const first = new MetricsService();
    const second = new MetricsService();
    first.callbackRejection('signature');

    expect(await first.metrics()).toContain('wxhub_callback_rejected_total{reason="signature"} 1');
    expect(await second.metrics()).not.toContain('wxhub_callback_rejected_total{reason="signature"}');
  });
});
