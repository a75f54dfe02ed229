import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { SANDBOX_ADMIN_KEY } from '../src/config/sandbox-defaults';
import { getJson } from './support/http';
import { type ChildHandle, startHub } from './support/processes';
import { openSocket, sendRaw } from './support/raw-http';

/*
 * The HTTP server's bounds on a real hub process (the sandbox's own accounts): a body or headers sent too slowly
 * end in a 408 or a close within HTTP_REQUEST_TIMEOUT_MS / HTTP_HEADERS_TIMEOUT_MS, on the public callback route
 * too, and one address holding many idle connections does not keep another client out.
 */

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
const MAX_CONNECTIONS_PER_CLIENT = 20;
/** What a timeout may take past its setting: the server checks every 500 ms here, and the machine is shared. */
const SLACK_MS = 2500;
const CALLBACK = '/wechat/wxsandboxdemo00001';

let hub: ChildHandle & { url: string; port: number };

/** Connects from `localAddress` (any 127.0.0.0/8 address is this host's loopback). */
function connectFrom(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the milliseconds until `socket` is closed by the server, or -1 after `deadlineMs`. */
function closedWithin(socket: Socket, deadlineMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(-1), deadlineMs);
    const closed = (): void => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    };
    if (socket.destroyed) closed();
    socket
      .once('close', closed)
      .once('end', closed)
      .once('error', () => undefined);
  });
}

beforeAll(async () => {
  hub = await startHub({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HTTP_MAX_CONNECTIONS_PER_CLIENT: String(MAX_CONNECTIONS_PER_CLIENT),
  });
});

describe('bounded time to send a request', () => {
  it('a push whose body drips in is answered 408 or closed within the request timeout', async () => {
    const exchange = await sendRaw(
      hub.port,
      `POST ${CALLBACK}?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 10000`,
      10_000,
      REQUEST_TIMEOUT_MS + 10_000,
      { bytes: 1, everyMs: 100 },
    );

    expect(exchange.closedByServer).toBe(true);
    expect([0, 408]).toContain(exchange.status);
    expect(exchange.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  });

  it('a push whose client goes away mid-body leaves the hub serving pushes', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = await connectFrom(hub.port, '127.0.0.9');
      socket.write(
        `POST ${CALLBACK}?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Type: text/xml\r\nContent-Length: 5000\r\n\r\n<xml><ToUserName>`,
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.destroy();
    }
    // a whole push from the same address (closed after its answer: the idle-connection cap below counts per address)
    const socket = await connectFrom(hub.port, '127.0.0.9');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (data: Buffer) => (text += data.toString()));
      socket.once('close', () => resolve(text));
      socket.write(
        `POST ${CALLBACK}?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
          `Content-Type: text/xml\r\nContent-Length: 11\r\n\r\n<xml></xml>`,
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer).toContain('signature');
    expect(hub.output.filter((line) => /uncaught|unhandled/i.test(line))).toEqual([]);
  });

  it('a gateway upload that drips in is likewise cut off within the request timeout', async () => {
    const exchange = await sendRaw(
      hub.port,
      `POST /gateway/wxsandboxdemo00001/cgi-bin/media/upload?type=image HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${SANDBOX_ADMIN_KEY}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000`,
      100_000,
      REQUEST_TIMEOUT_MS + 10_000,
      { bytes: 1, everyMs: 100 },
    );

    expect(exchange.closedByServer).toBe(true);
    expect([0, 408]).toContain(exchange.status);
    expect(exchange.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(exchange.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  });

  it('headers sent a line at a time (slowloris) are cut off within the headers timeout', async () => {
    const socket = await openSocket(hub.port);
    socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    let line = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Drip-${line++}: a\r\n`);
    }, 200);
    try {
      const closedAfter = await closedWithin(socket, HEADERS_TIMEOUT_MS + 10_000);

      expect(closedAfter).toBeGreaterThanOrEqual(0);
      expect(closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it('a connection that never sends a request is closed within the headers timeout', async () => {
    const socket = await openSocket(hub.port);

    const closedAfter = await closedWithin(socket, HEADERS_TIMEOUT_MS + 10_000);

    expect(closedAfter).toBeGreaterThanOrEqual(0);
    expect(closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
  });
});

describe('connections per client', () => {
  it('one address holding many idle connections is capped, and another client is still served', async () => {
    const hog = await Promise.all(
      Array.from({ length: 3 * MAX_CONNECTIONS_PER_CLIENT }, () => connectFrom(hub.port, '127.0.0.1')),
    );
    try {
      // well before the headers timeout: the connections past the cap are closed at once
      const closed = await Promise.all(hog.map((socket) => closedWithin(socket, HEADERS_TIMEOUT_MS / 2)));
      expect(closed.filter((ms) => ms >= 0)).toHaveLength(2 * MAX_CONNECTIONS_PER_CLIENT);

      const other = await connectFrom(hub.port, '127.0.0.2');
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        other.on('data', (data: Buffer) => (text += data.toString()));
        other.once('close', () => resolve(text));
        other.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      for (const socket of hog) socket.destroy();
    }
  });

  it('a client whose connections were closed can connect again', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect((await getJson(`${hub.url}/health`)).status).toBe(200);
  });
});
