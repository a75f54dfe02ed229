import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { labelledChildren } from './labelled-children';

export type UpstreamTokenEndpoint = 'stable_token' | 'token' | 'stable_token_force' | 'probe';
export type CallbackOutcome = 'replied' | 'success' | 'duplicate' | 'late' | 'error';
export type CallbackRejection = 'signature' | 'timestamp' | 'malformed' | 'mode' | 'decrypt';

/** Seconds; WeChat gives a push 5 s before it retries. */
const CALLBACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 4.5, 5];

/** The subset of an account's token state the gauges are read from (TokenService.tokenGauges()). */
export interface TokenGaugeSource {
  appId: string;
  expiresIn: number | null;
  forceRefreshBudgetLeft: number;
}

/**
 * The Prometheus registry of wxhub and every metric it records. Labels are AppIDs, endpoints, outcomes and
 * errcodes only: never a secret or a token. Each process owns its own registry (not prom-client's global
 * one), so several apps in one process do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly tokenSecondsLeft = new Gauge({
    name: 'wxhub_token_seconds_left',
    help: 'Seconds the current access_token of the account can still be used (absent: no token)',
    labelNames: ['app_id'] as const,
    registers: [this.registry],
  });
  private readonly forceBudgetLeft = new Gauge({
    name: 'wxhub_force_refresh_budget_left',
    help: 'Force refreshes the account may still spend today (China day)',
    labelNames: ['app_id'] as const,
    registers: [this.registry],
  });
  private readonly upstreamCalls = new Counter({
    name: 'wxhub_upstream_token_calls_total',
    help: 'Calls to the WeChat token endpoints made by this process',
    labelNames: ['app_id', 'endpoint'] as const,
    registers: [this.registry],
  });
  private readonly refreshes = new Counter({
    name: 'wxhub_token_refreshes_total',
    help: 'Token fetches from WeChat by this process, by outcome',
    labelNames: ['app_id', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'wxhub_upstream_errors_total',
    help: 'Failed token calls, by WeChat errcode ("network" when there was none)',
    labelNames: ['app_id', 'errcode'] as const,
    registers: [this.registry],
  });
  private readonly invalidReports = new Counter({
    name: 'wxhub_invalid_reports_total',
    help: 'Reports that a token is invalid, by what they led to',
    labelNames: ['app_id', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly foreignInvalidations = new Counter({
    name: 'wxhub_foreign_invalidations_total',
    help: 'Young tokens found dead: someone outside the hub fetched a token for the AppID',
    labelNames: ['app_id'] as const,
    registers: [this.registry],
  });
  private readonly callbackDuration = new Histogram({
    name: 'wxhub_callback_duration_seconds',
    help: 'Time from receiving a WeChat push to answering it',
    labelNames: ['app_id', 'outcome'] as const,
    buckets: CALLBACK_BUCKETS,
    registers: [this.registry],
  });
  private readonly lockWait = new Histogram({
    name: 'wxhub_lock_wait_seconds',
    help: "Time a caller waited for another instance's refresh of a credential (its lock was held elsewhere)",
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly outboundErrors = new Counter({
    name: 'wxhub_outbound_errors_total',
    help: 'WeChat errcodes answered to business calls, through the API client or the gateway / SDK pass-through',
    labelNames: ['via', 'errcode'] as const,
    registers: [this.registry],
  });
  // once per push: the labelled child is looked up once per (account, outcome), not rebuilt from its labels
  private readonly callbackDurationOf = labelledChildren((appId, outcome) =>
    this.callbackDuration.labels(appId, outcome),
  );
  private readonly dedupeHits = new Counter({
    name: 'wxhub_callback_dedupe_hits_total',
    help: 'Pushes answered as duplicates of one already handled or being handled',
    labelNames: ['app_id'] as const,
    registers: [this.registry],
  });
  private readonly lateReplies = new Counter({
    name: 'wxhub_callback_late_replies_total',
    help: 'Handler replies past the time budget, sent through the customer-service API',
    labelNames: ['app_id', 'delivered'] as const,
    registers: [this.registry],
  });
  private readonly callbackRejected = new Counter({
    name: 'wxhub_callback_rejected_total',
    help: 'Pushes refused before dispatch',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  upstreamCall(appId: string, endpoint: UpstreamTokenEndpoint): void {
    this.upstreamCalls.labels(appId, endpoint).inc();
  }

  refreshed(appId: string, outcome: 'refreshed' | 'failed'): void {
    this.refreshes.labels(appId, outcome).inc();
  }

  upstreamError(appId: string, errcode: number | undefined): void {
    this.upstreamErrors.labels(appId, errcode === undefined ? 'network' : String(errcode)).inc();
  }

  invalidReport(appId: string, outcome: 'stale-report' | 'false-report' | 'refreshed' | 'forced'): void {
    this.invalidReports.labels(appId, outcome).inc();
  }

  foreignInvalidation(appId: string): void {
    this.foreignInvalidations.labels(appId).inc();
  }

  callbackAnswered(appId: string, outcome: CallbackOutcome, seconds: number): void {
    this.callbackDurationOf(appId, outcome).observe(seconds);
  }

  /** A caller waited for a refresh running elsewhere: `done` when it got the value, `timeout` when it gave up. */
  lockWaited(kind: string, outcome: 'done' | 'timeout', seconds: number): void {
    this.lockWait.labels(kind, outcome).observe(seconds);
  }

  /** WeChat answered a business call with a non-zero errcode. */
  outboundError(via: 'client' | 'gateway', errcode: number): void {
    this.outboundErrors.labels(via, String(errcode)).inc();
  }

  dedupeHit(appId: string): void {
    this.dedupeHits.labels(appId).inc();
  }

  lateReply(appId: string, delivered: boolean): void {
    this.lateReplies.labels(appId, String(delivered)).inc();
  }

  callbackRejection(reason: CallbackRejection): void {
    this.callbackRejected.labels(reason).inc();
  }

  /** Replaces the token gauges (an account removed at runtime disappears from them). */
  setTokenGauges(accounts: readonly TokenGaugeSource[]): void {
    this.tokenSecondsLeft.reset();
    this.forceBudgetLeft.reset();
    for (const account of accounts) {
      if (account.expiresIn !== null) this.tokenSecondsLeft.labels(account.appId).set(account.expiresIn);
      this.forceBudgetLeft.labels(account.appId).set(account.forceRefreshBudgetLeft);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
