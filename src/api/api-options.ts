/** Options of `ApiModule.forRoot` / `forRootAsync`. */
export interface ApiModuleOptions {
  /** WeChat API base URL. Default `https://api.weixin.qq.com`. */
  apiBaseUrl?: string;
  /** Base of the OAuth authorize page built by `WechatOAuth.authorizeUrl`. Default `https://open.weixin.qq.com`. */
  oauthBaseUrl?: string;
  /**
   * Longest wait, in ms, for WeChat's response headers and between two chunks of a body (an idle timeout, so
   * a large download is not cut off while bytes flow). Default 10000.
   */
  timeoutMs?: number;
  /** Longest wait for a TCP/TLS connection. Default min(timeoutMs, 5000). */
  connectTimeoutMs?: number;
  /** Keep-alive connections to WeChat at most. Default 32. */
  connections?: number;
  /** Extra attempts after WeChat answers -1 (system busy). Default 2. */
  busyRetries?: number;
  /** First busy back-off in ms; doubled for each further retry and jittered ±25%. Default 200. */
  busyRetryDelayMs?: number;
}

export interface ResolvedApiOptions {
  apiBaseUrl: string;
  oauthBaseUrl: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  connections: number;
  busyRetries: number;
  busyRetryDelayMs: number;
}

/** Fills defaults and checks every field; throws an Error naming the bad one. */
export function resolveApiOptions(options: ApiModuleOptions = {}): ResolvedApiOptions {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const resolved: ResolvedApiOptions = {
    apiBaseUrl: (options.apiBaseUrl ?? 'https://api.weixin.qq.com').replace(/\/+$/, ''),
    oauthBaseUrl: (options.oauthBaseUrl ?? 'https://open.weixin.qq.com').replace(/\/+$/, ''),
    timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? Math.min(timeoutMs, 5_000),
    connections: options.connections ?? 32,
    busyRetries: options.busyRetries ?? 2,
    busyRetryDelayMs: options.busyRetryDelayMs ?? 200,
  };
  for (const key of ['apiBaseUrl', 'oauthBaseUrl'] as const) {
    let url: URL;
    try {
      url = new URL(resolved[key]);
    } catch {
      throw new Error(`ApiModule: ${key} must be an absolute http(s) URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`ApiModule: ${key} must be an absolute http(s) URL`);
    }
  }
  for (const key of ['timeoutMs', 'connectTimeoutMs', 'connections'] as const) {
    if (!Number.isSafeInteger(resolved[key]) || resolved[key] <= 0) {
      throw new Error(`ApiModule: ${key} must be a positive integer`);
    }
  }
  for (const key of ['busyRetries', 'busyRetryDelayMs'] as const) {
    if (!Number.isSafeInteger(resolved[key]) || resolved[key] < 0) {
      throw new Error(`ApiModule: ${key} must be a non-negative integer`);
    }
  }
  return resolved;
}
