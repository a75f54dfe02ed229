/** The value of each setting whose variable is not set (DESIGN.md, "Configuration"). */
export const CONFIG_DEFAULTS = {
  nodeEnv: 'development',
  port: 3000,
  host: '0.0.0.0',
  logLevel: 'info',
  keyPrefix: 'wxhub',
  apiBaseUrl: 'https://api.weixin.qq.com',
  token: {
    refreshAheadSeconds: 240,
    lockTtlMs: 10_000,
    waitTimeoutMs: 10_000,
    upstreamTimeoutMs: 5_000,
    forceDailyBudget: 20,
    forceMinIntervalSeconds: 30,
  },
  // the de-duplication TTL is derived from the clock-skew window (dedupe-window.ts)
  callback: { maxClockSkewSeconds: 300, handlerTimeoutMs: 4500 },
  http: { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, maxConnectionsPerClient: 128 },
  sandbox: { port: 0, tokenLifetimeSeconds: 7200 },
  audit: { maxEntries: 10_000 },
  throttle: {
    windowSeconds: 60,
    forceRefresh: 5,
    invalidReports: 600,
    reload: 6,
    auditReads: 120,
    failedAuth: 20,
  },
} as const;
