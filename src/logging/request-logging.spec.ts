import type { FastifyBaseLogger } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { createRootLogger } from './root-logger';
import { requestLoggingServerOptions } from './request-logging';

/** A root logger writing into `lines`, as createApp makes it. */
function capture(): { logger: ReturnType<typeof createRootLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const { time: _time, ...line } = JSON.parse(chunk.toString()) as Record<string, unknown>;
      lines.push(line);
      done();
    },
  });
  return { logger: createRootLogger('info', destination), lines };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('request loggers', () => {
  const url = '/wechat/wx0000000000000001?signature=abc&timestamp=1&nonce=2';
  const fields = { method: 'POST', url: '/wechat/wx0000000000000001', statusCode: 200, responseTime: 1.2 };

  function requestLogger(root: ReturnType<typeof createRootLogger>, options: object = {}) {
    const { childLoggerFactory } = requestLoggingServerOptions(root);
    const parent = root as unknown as FastifyBaseLogger;
    return childLoggerFactory(parent, { reqId: 'req-1' }, options, { url } as IncomingMessage) as unknown as {
      line(level: 'info', fields: Record<string, unknown>, msg: string): void;
      info(fields: Record<string, unknown>, msg: string): void;
    };
  }

  it("writes a request's only line without making a child, the same JSON a child writes", async () => {
    const { logger, lines } = capture();
    const child = jest.spyOn(logger, 'child');
    requestLogger(logger).line('info', fields, 'request completed');
    await flush();
    expect(child).not.toHaveBeenCalled();
    child.mockRestore();

    // the same line once the child exists (another line was written first)
    const made = requestLogger(logger);
    made.info({}, 'handler line');
    made.line('info', fields, 'request completed');
    await flush();

    expect(lines[0]).toEqual(lines[2]);
    expect(lines[0]).toEqual({
      level: 30,
      pid: process.pid,
      hostname: expect.any(String),
      reqId: 'req-1',
      appId: 'wx0000000000000001',
      ...fields,
      msg: 'request completed',
    });
    expect(Object.keys(lines[0]!)).toEqual(Object.keys(lines[2]!));
  });

  it('goes through a child when the route gave the logger options of its own', async () => {
    const { logger, lines } = capture();
    const child = jest.spyOn(logger, 'child');
    requestLogger(logger, { level: 'warn' }).line('info', fields, 'request completed');
    await flush();
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([]);
  });
});
