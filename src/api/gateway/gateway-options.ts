/** Options of the HTTP gateway (`GatewayModule.forRoot` / `forRootAsync`). */
export interface GatewayModuleOptions {
  /** WeChat's API base, e.g. `https://api.weixin.qq.com`; a path prefix (behind a forward proxy) is kept. */
  apiBaseUrl: string;
  /**
   * How long WeChat may take to start answering once a request is sent, and how long a response (or a streamed
   * upload) may make no progress. Default 5000 (the hub's UPSTREAM_TIMEOUT_MS).
   */
  upstreamTimeoutMs?: number;
  /** Largest request body accepted; larger ones get 413. Default 20 MiB (WeChat's media limits are lower). */
  maxBodyBytes?: number;
  /**
   * Bodies up to this size are held in memory, so that the call can be sent again after a token repair;
   * larger ones stream straight to WeChat and cannot be replayed. Default 1 MiB.
   */
  replayBodyBytes?: number;
  /** Keep-alive connections to WeChat at most. Default 128. */
  connections?: number;
}

export type ResolvedGatewayOptions = Required<GatewayModuleOptions>;

export function resolveGatewayOptions(options: GatewayModuleOptions): ResolvedGatewayOptions {
  return {
    apiBaseUrl: options.apiBaseUrl.replace(/\/+$/, ''),
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 5_000,
    maxBodyBytes: options.maxBodyBytes ?? 20 * 1024 * 1024,
    replayBodyBytes: options.replayBodyBytes ?? 1024 * 1024,
    connections: options.connections ?? 128,
  };
}
