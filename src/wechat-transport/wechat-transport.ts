import type { Dispatcher } from 'undici';
import { leaseWechatPool, type PoolLease } from './wechat-pool';
import { toTransportError } from './transport-failure';

/** Where and how one user of the transport calls WeChat. */
export interface WechatTransportOptions {
  /** WeChat's API base, e.g. `https://api.weixin.qq.com`; a path prefix (behind a forward proxy) is kept. */
  baseUrl: string;
  /**
   * Longest wait for the response headers and between two chunks of a body (idle limits, so a large download
   * is not cut off while bytes flow); a request may set its own.
   */
  timeoutMs: number;
  /** Longest wait for a TCP/TLS connection. */
  connectTimeoutMs: number;
  /** Connections this user may need at once. */
  connections: number;
}

/** A request through the transport: `path` is on the API host (query included), without the base path. */
export type TransportRequest = Omit<Dispatcher.RequestOptions, 'path' | 'origin'> & { path: string };

/**
 * The way to WeChat for one user (a client, the gateway, a sender): requests go through the process-wide pool of
 * the base URL's origin with this user's timeouts, and every failure without an answer becomes a
 * {@link WechatTransportError} whose message is safe to show (no URL, no token, no secret).
 */
export class WechatTransport {
  readonly timeoutMs: number;
  private readonly basePath: string;
  private readonly lease: PoolLease;

  constructor(options: WechatTransportOptions) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    this.lease = leaseWechatPool(url.origin, {
      connections: options.connections,
      connectTimeoutMs: options.connectTimeoutMs,
    });
  }

  /**
   * Sends `request` and resolves to WeChat's answer, whatever its status (the body is the caller's to consume).
   * @throws WechatTransportError when there is no answer (timeout, network)
   */
  async request(request: TransportRequest): Promise<Dispatcher.ResponseData> {
    try {
      return await this.lease.pool.request({
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...request,
        path: this.basePath + request.path,
      });
    } catch (error) {
      throw toTransportError(error, this.timeoutMs);
    }
  }

  /** The whole body as bytes. @throws WechatTransportError when reading it fails */
  async readBody(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
    try {
      return Buffer.from(await body.arrayBuffer());
    } catch (error) {
      throw toTransportError(error, this.timeoutMs);
    }
  }

  /** Gives this user's hold on the pool back; the last user closes it. */
  close(): Promise<void> {
    return this.lease.release();
  }
}
