import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { TrustProxy } from '../config/wxhub-config';
import { ipAllowed, normalizeIp, parseCidrList } from './ip';

/** The HTTP server's bounds (WxhubConfig.http). */
/** The largest request body any route takes (WeChat's pushes are a few KB); larger is a 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface ServerLimits {
  /** Time from a connection (or the end of the previous request) to the end of a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body; the answer's own time is not counted. */
  requestTimeoutMs: number;
  /** Open connections one peer address may hold; 0 = no limit. */
  maxConnectionsPerClient: number;
}

/**
 * Fastify server options that bound how long a client may take to send a request. Node's `requestTimeout` covers
 * headers and body (a body dripped byte by byte gets a 408), `headersTimeout` a slowloris and a connection that
 * never sends anything; both are checked every `connectionsCheckingInterval`, so that is kept short (Node's
 * default of 30 s would let a timeout fire up to 30 s late). A connection that never sends a byte is closed by
 * guardConnections.
 */
export function serverTimeoutOptions(limits: ServerLimits): {
  requestTimeout: number;
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.floor(limits.headersTimeoutMs / 2)),
    },
  };
}

/**
 * Guards the server's connections: one that sends nothing within `headersTimeoutMs` is closed (Node's timeouts
 * start with the first byte), and each peer address holds at most `maxConnectionsPerClient` open connections, a
 * connection beyond that being closed at once, so one client holding idle connections cannot exhaust the
 * process's sockets for everyone else.
 *
 * The peer is the TCP peer: behind a proxy every client shares the proxy's address, so the proxies of TRUST_PROXY
 * are exempt from the cap (with `true` or a hop count every peer may be a proxy, and the cap is off); limiting per
 * client is then the proxy's job. Loopback is not exempt.
 */
export function guardConnections(server: Server, limits: ServerLimits, trustProxy: TrustProxy): void {
  const max = limits.maxConnectionsPerClient;
  const capped = max > 0 && trustProxy !== true && typeof trustProxy !== 'number';
  const proxies = Array.isArray(trustProxy) && trustProxy.length > 0 ? parseCidrList(trustProxy) : undefined;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const silent = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, limits.headersTimeoutMs).unref();
    socket.once('close', () => clearTimeout(silent));
    const address = normalizeIp(socket.remoteAddress ?? '');
    if (!capped || (proxies && ipAllowed(proxies, address))) return;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
