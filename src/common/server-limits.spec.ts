import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { TrustProxy } from '../config/wxhub-config';
import { guardConnections } from './server-limits';

const LIMITS = { headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, maxConnectionsPerClient: 2 };

async function serverWith(trustProxy: TrustProxy): Promise<Server> {
  const server = createServer((_request, response) => response.end('ok'));
  guardConnections(server, LIMITS, trustProxy);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Opens `n` connections and resolves with how many the server closed within 300 ms. */
async function closedOf(server: Server, n: number): Promise<number> {
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined).once('close', () => closed++);
    sockets.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const socket of sockets) socket.destroy();
  return closed;
}

describe('guardConnections', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('closes the connections of one address beyond the cap at once', async () => {
    const server = await serverWith(false);
    servers.push(server);
    expect(await closedOf(server, 5)).toBe(3);
  });

  it('exempts the proxies listed in TRUST_PROXY: every client shares their address', async () => {
    const server = await serverWith(['127.0.0.1/32']);
    servers.push(server);
    expect(await closedOf(server, 5)).toBe(0);
  });

  it('is off with TRUST_PROXY=true or a hop count, where every peer may be a proxy', async () => {
    for (const trustProxy of [true, 1] as const) {
      const server = await serverWith(trustProxy);
      servers.push(server);
      expect(await closedOf(server, 5)).toBe(0);
    }
  });

  it('frees a place when a connection closes', async () => {
    const server = await serverWith(false);
    servers.push(server);
    expect(await closedOf(server, 2)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await closedOf(server, 2)).toBe(0);
  });
});
