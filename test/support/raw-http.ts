import { connect, type Socket } from 'node:net';

/** What a raw request saw: the status line's code (0 if none came), the head, and how the socket ended. */
export interface RawExchange {
  status: number;
  head: string;
  /** Body bytes the kernel took from this client before the server answered or closed. */
  bodyBytesSent: number;
  /** Milliseconds from connecting to the end of the exchange. */
  elapsedMs: number;
  /** The server closed the connection (rather than the deadline ending the exchange). */
  closedByServer: boolean;
}

/** Opens a TCP connection to `port` on loopback, resolved once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Sends `head` (the request line and headers, without the blank line) and then `bodyBytes` of body in 64 KB
 * chunks as fast as the server takes them (or `drip.bytes` every `drip.everyMs`), until the server answers and closes or `deadlineMs` passes.
 */
export async function sendRaw(
  port: number,
  head: string,
  bodyBytes: number,
  deadlineMs: number,
  drip?: { bytes: number; everyMs: number },
): Promise<RawExchange> {
  const started = Date.now();
  const socket = await openSocket(port);
  let received = '';
  let closedByServer = false;
  let sent = 0;
  let finished = false;
  const chunk = Buffer.alloc(drip?.bytes ?? 64 * 1024, 0x61);
  socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    const byServer = (): void => {
      if (!finished) closedByServer = true;
      resolve();
    };
    socket.once('close', byServer).once('end', byServer);
  });
  socket.write(`${head}\r\n\r\n`);
  const writer = (async () => {
    while (sent < bodyBytes && !socket.destroyed && !socket.writableEnded && !closedByServer) {
      const piece = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent));
      const flushed = socket.write(piece);
      sent += piece.length;
      if (drip) await new Promise((r) => setTimeout(r, drip.everyMs));
      else if (!flushed) await new Promise((r) => socket.once('drain', r).once('close', r));
    }
  })();
  await Promise.race([ended, new Promise((r) => setTimeout(r, deadlineMs))]);
  finished = true;
  socket.destroy();
  await writer;
  const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
  return {
    status: status === undefined ? 0 : Number(status),
    head: received.split('\r\n\r\n')[0] ?? '',
    // what is still queued in this process was never taken by the server
    bodyBytesSent: Math.max(0, socket.bytesWritten - Buffer.byteLength(`${head}\r\n\r\n`)),
    elapsedMs: Date.now() - started,
    closedByServer,
  };
}
