import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { TrustProxy } from '../config/wxhub-config';

/**
 * The client address of a request as Fastify computes `request.ip` with the same TRUST_PROXY setting: the socket's
 * peer, or the `X-Forwarded-For` entry of the first proxy that is not trusted. For the routes answered ahead of
 * Fastify, which must apply the same allow-lists and failed-auth limits.
 */
export function clientIpResolver(trustProxy: TrustProxy): (request: IncomingMessage) => string {
  if (trustProxy === false) return (request) => request.socket.remoteAddress ?? '';
  const trust =
    trustProxy === true
      ? (): boolean => true
      : typeof trustProxy === 'number'
        ? (_address: string, hop: number): boolean => hop < trustProxy
        : proxyAddr.compile(trustProxy);
  return (request) => proxyAddr(request, trust);
}
