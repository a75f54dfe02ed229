import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { pushXml, signPush, type PushTarget } from '../src/sandbox/push-builder';
import { SANDBOX_ADMIN_KEY, SANDBOX_DEMO_ACCOUNT } from '../src/sandbox/sandbox.constants';
import { getJson, postJson } from './support/http';
import { startHub, startSimulator } from './support/processes';

/*
 * Probes and Prometheus metrics of a built hub: a sandbox-mode hub (built-in simulator, demo account) runs a
 * scripted scenario whose counters are then read from /metrics; a second hub whose WeChat refuses every token
 * call (40164) shows liveness and readiness apart.
 */

type Hub = Awaited<ReturnType<typeof startHub>>;

interface TokenBody {
  access_token: string;
  outcome?: string;
}

const DEMO = SANDBOX_DEMO_ACCOUNT;
const FAILING = { appId: 'wxobsfailing000001', appSecret: `S${randomBytes(16).toString('hex')}` };
const ADMIN = { authorization: `Bearer ${SANDBOX_ADMIN_KEY}` };

/** `name{labels} value` lines of the text exposition, keyed by `name{labels}` exactly as printed. */
function samples(exposition: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    result.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return result;
}

async function scrape(hub: Hub): Promise<{ text: string; samples: Map<string, number>; type: string }> {
  const response = await fetch(`${hub.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: samples(text), type: response.headers.get('content-type') ?? '' };
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await check()) && Date.now() < deadline;) await delay(100);
}

async function push(hub: Hub, target: PushTarget, text: string): Promise<{ status: number; body: string }> {
  const signed = signPush(target, pushXml({ text, fromUser: 'o_observability_user' }));
  const response = await fetch(`${hub.url}/wechat/${target.appId}?${new URLSearchParams(signed.query)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: signed.body,
  });
  return { status: response.status, body: await response.text() };
}

describe('a sandbox hub after a scripted scenario', () => {
  let hub: Hub;
  let token: string;
  let metrics: Awaited<ReturnType<typeof scrape>>;
  const demo = `app_id="${DEMO.appId}"`;

  beforeAll(async () => {
    hub = await startHub({ WECHAT_SANDBOX: 'true' }, { name: 'hub-observability' });
    await until(async () => (await getJson(`${hub.url}/health/ready`)).status === 200);

    const read = await getJson<TokenBody>(`${hub.url}/api/v1/accounts/${DEMO.appId}/token`, {
      headers: ADMIN,
    });
    expect(read.status).toBe(200);
    token = read.body.access_token;
    const report = (accessToken: string) =>
      postJson<TokenBody>(
        `${hub.url}/api/v1/accounts/${DEMO.appId}/token/invalid`,
        { access_token: accessToken },
        { headers: ADMIN },
      );
    expect((await report(`${token.slice(0, -4)}XXXX`)).body.outcome).toBe('stale-report');
    expect((await report(token)).body.outcome).toBe('false-report');

    const target: PushTarget = {
      appId: DEMO.appId,
      token: DEMO.token,
      encodingAESKey: DEMO.encodingAESKey,
      encrypt: true,
    };
    const answered = await push(hub, target, 'hello metrics');
    expect(answered.status).toBe(200);
    expect(answered.body).toContain('<Encrypt>');
    const forged = await push(hub, { ...target, token: 'not-the-callback-token' }, 'forged');
    expect(forged.status).toBe(401);

    // a business call WeChat refuses (no menu yet), once through the gateway and once through the SDK pass-through
    const viaGateway = await getJson<{ errcode: number }>(
      `${hub.url}/gateway/${DEMO.appId}/cgi-bin/menu/get`,
      {
        headers: ADMIN,
      },
    );
    expect(viaGateway.body.errcode).toBe(46003);
    const viaSdk = await getJson<{ errcode: number }>(
      `${hub.url}/cgi-bin/menu/get?access_token=${encodeURIComponent(token)}`,
    );
    expect(viaSdk.body.errcode).toBe(46003);

    metrics = await scrape(hub);
  });

  it('answers liveness and readiness with 200', async () => {
    expect((await getJson(`${hub.url}/health/live`)).status).toBe(200);
    const ready = await getJson<{ status: string }>(`${hub.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
  });

  it('serves the Prometheus text format with the default Node metrics', () => {
    expect(metrics.type).toContain('text/plain');
    expect(metrics.text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(metrics.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('counts the upstream token calls: the boot fetch and the re-query of the false report, and one probe', () => {
    const calls = (endpoint: string) =>
      metrics.samples.get(`wxhub_upstream_token_calls_total{${demo},endpoint="${endpoint}"}`);
    expect(calls('stable_token')).toBe(2);
    expect(calls('probe')).toBe(1);
    expect(calls('stable_token_force')).toBeUndefined();
    expect(calls('token')).toBeUndefined();
    expect(metrics.samples.get(`wxhub_token_refreshes_total{${demo},outcome="refreshed"}`)).toBe(2);
    expect(metrics.samples.get(`wxhub_token_refreshes_total{${demo},outcome="failed"}`)).toBeUndefined();
  });

  it('counts each invalid-token report by its outcome', () => {
    const reports = (outcome: string) =>
      metrics.samples.get(`wxhub_invalid_reports_total{${demo},outcome="${outcome}"}`);
    expect(reports('stale-report')).toBe(1);
    expect(reports('false-report')).toBe(1);
    expect(reports('refreshed')).toBeUndefined();
    expect(reports('forced')).toBeUndefined();
    expect(metrics.text).not.toContain('wxhub_foreign_invalidations_total{');
  });

  it('shows the token gauges read at scrape time', () => {
    const secondsLeft = metrics.samples.get(`wxhub_token_seconds_left{${demo}}`) ?? 0;
    expect(secondsLeft).toBeGreaterThan(60);
    expect(secondsLeft).toBeLessThanOrEqual(7200);
    // the false report forced nothing: the whole daily budget (20) is left
    expect(metrics.samples.get(`wxhub_force_refresh_budget_left{${demo}}`)).toBe(20);
  });

  it('times the answered push in the callback histogram and counts the forged one as rejected', () => {
    expect(metrics.samples.get(`wxhub_callback_duration_seconds_count{${demo},outcome="replied"}`)).toBe(1);
    expect(
      metrics.samples.get(`wxhub_callback_duration_seconds_bucket{le="5",${demo},outcome="replied"}`),
    ).toBe(1);
    expect(metrics.samples.get('wxhub_callback_rejected_total{reason="signature"}')).toBe(1);
    expect(metrics.text).not.toContain('wxhub_callback_dedupe_hits_total{');
  });

  it("counts WeChat's errcodes on business calls", () => {
    expect(metrics.samples.get('wxhub_outbound_errors_total{via="gateway",errcode="46003"}')).toBe(2);
    expect(metrics.text).not.toContain('wxhub_outbound_errors_total{via="client"');
  });

  it('contains neither the AppSecret nor the token', () => {
    expect(token.length).toBeGreaterThan(20);
    expect(metrics.text).not.toContain(token);
    expect(metrics.text).not.toContain(DEMO.appSecret);
    expect(metrics.text).not.toContain(DEMO.encodingAESKey);
  });
});

describe('a hub whose WeChat refuses every token call (errcode 40164 from the start)', () => {
  let hub: Hub;

  beforeAll(async () => {
    const simulator = await startSimulator({
      SANDBOX_APPS: JSON.stringify([FAILING]),
    });
    const fault = await postJson(`${simulator.url}/sandbox/faults`, {
      kind: 'errcode',
      errcode: 40164,
      appId: FAILING.appId,
    });
    expect(fault.status).toBe(200);
    hub = await startHub(
      {
        NODE_ENV: 'test',
        WECHAT_SANDBOX: 'false',
        WECHAT_API_BASE_URL: simulator.url,
        WECHAT_ACCOUNTS: JSON.stringify([{ ...FAILING, tokenEndpoint: 'stable' }]),
        // the readiness detail is for an admin key holder
        ADMIN_API_KEYS: SANDBOX_ADMIN_KEY,
      },
      { name: 'hub-observability-failing' },
    );
    await until(async () => (await getJson(`${hub.url}/health/ready`)).status === 503);
  });

  it('is live but not ready, and /health agrees with readiness', async () => {
    const live = await getJson<{ status: string }>(`${hub.url}/health/live`);
    const ready = await getJson<{ status: string; details: Record<string, unknown> }>(
      `${hub.url}/health/ready`,
      { headers: ADMIN },
    );
    const health = await getJson<{ status: string }>(`${hub.url}/health`);

    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.details.tokenPlane).toMatchObject({
      status: 'down',
      accounts: { [FAILING.appId]: 'failing' },
    });
    expect(health.status).toBe(503);
  });

  it('counts the failed refreshes by errcode, without the AppSecret', async () => {
    const { text, samples: values } = await scrape(hub);
    const app = `app_id="${FAILING.appId}"`;

    expect(values.get(`wxhub_upstream_errors_total{${app},errcode="40164"}`)).toBeGreaterThanOrEqual(1);
    expect(values.get(`wxhub_token_refreshes_total{${app},outcome="failed"}`)).toBeGreaterThanOrEqual(1);
    expect(
      values.get(`wxhub_upstream_token_calls_total{${app},endpoint="stable_token"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(`wxhub_token_seconds_left{${app}}`);
    expect(text).not.toContain(FAILING.appSecret);
  });
});
