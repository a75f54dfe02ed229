/* The simulator's public types; wechat-simulator.ts re-exports them with the class. */

/** An account the simulator knows: the credentials `/cgi-bin/token` and `/cgi-bin/stable_token` accept. */
export interface SimulatorApp {
  appId: string;
  appSecret: string;
  /**
   * Default `officialAccount`. A `miniProgram` also serves `/sns/jscode2session` and the `/wxa/*` APIs, and its
   * customer-service messages are limited to text, image, link and miniprogrampage.
   */
  kind?: 'officialAccount' | 'miniProgram';
}

/** Timing and limits; every field can be changed at runtime with {@link WechatSimulator.configure}. */
export interface SimulatorTiming {
  /** `expires_in` of a freshly issued token, in seconds. Default 7200. */
  tokenLifetimeSeconds?: number;
  /**
   * Default 300. A legacy token stays valid this long after the next `/cgi-bin/token` call; a stable token is
   * rotated by a normal-mode call only once it has this much or less left.
   */
  overlapSeconds?: number;
  /** Force refreshes closer together than this do not refresh. Default 30. */
  forceMinIntervalSeconds?: number;
  /** Force-refresh calls per app per day (Beijing time) before 45009. Default 20. */
  forceDailyLimit?: number;
  /** Successful `/cgi-bin/token` calls per app per day (Beijing time) before 45009. Default 2000. */
  legacyDailyQuota?: number;
}

/** A misbehaviour the simulator applies to matching WeChat requests instead of (or before) answering them. */
export interface SimulatorFault {
  /**
   * `busy`: errcode -1; `http500`: HTTP 500 with a text body; `hang`: never answer; `latency`: wait
   * `latencyMs`, then answer normally; `errcode`: answer with `errcode` / `errmsg`.
   */
  kind: SimulatorFaultKind;
  /** WeChat paths it applies to; default every `/cgi-bin/*` path. */
  paths?: string[];
  /** Only requests for this app (its `appid`, or the app owning the `access_token`). */
  appId?: string;
  latencyMs?: number;
  errcode?: number;
  errmsg?: string;
  /** Apply to the next N matching requests only; default: until cleared. */
  times?: number;
}

export type SimulatorFaultKind = 'busy' | 'http500' | 'hang' | 'latency' | 'errcode';

/** `invalid` covers unknown tokens, tokens of another app, and tokens killed by a force refresh or revocation. */
export type TokenState = 'valid' | 'expired' | 'invalid';

export type TokenEndpoint = 'stable' | 'legacy';

/** Per-app request counters. `stableToken` counts every stable_token call, `stableTokenForce` the forced subset. */
export interface SimulatorAppStats {
  token: number;
  stableToken: number;
  stableTokenForce: number;
  business: number;
  /** Tokens handed to callers of the WeChat routes (a stable token returned again is not counted twice). */
  tokensIssued: number;
}

/** Counters since construction or the last {@link WechatSimulator.reset}. Foreign refreshes are not counted. */
export interface SimulatorStats {
  /** Requests received per WeChat path, including rejected and faulted ones. */
  calls: Record<string, number>;
  /** stable_token requests with `force_refresh: true`, including rejected and faulted ones. */
  forceCalls: number;
  byApp: Record<string, SimulatorAppStats>;
  faultsActive: number;
}

/** What a business endpoint received, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  appId: string;
  query: Record<string, unknown>;
  /** JSON bodies parsed; other bodies as their byte length and content type. */
  body: unknown;
  receivedAt: number;
}

/** A customer-service message the simulator accepted (what the user would have received). */
export interface RecordedCustomMessage {
  appId: string;
  receivedAt: number;
  body: Record<string, unknown>;
}

/** A successful token answer, as WeChat sends it. */
export interface TokenGrant {
  access_token: string;
  expires_in: number;
}
