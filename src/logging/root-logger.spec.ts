import { connect } from 'node:net';
import Fastify from 'fastify';
import { createRootLogger, serializeError, stripUrlCredentials } from './root-logger';

const PASSWORD = 'pa#ss/w?rd-123';
const KEY = 'admin-key-0123456789';

/** A root logger at `level` whose lines are collected, parsed. */
function collecting(level: 'trace' | 'info' = 'trace'): {
  logger: ReturnType<typeof createRootLogger>;
  lines: string[];
} {
  const lines: string[] = [];
  const logger = createRootLogger(level, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

describe('root logger: serialized errors', () => {
  it("drops the URL's credentials from an ERR_INVALID_URL's input (ioredis given a bad REDIS_URL)", () => {
    let thrown: unknown;
    try {
      new URL(`redis://:${PASSWORD}@127.0.0.1:6379/0`);
    } catch (error) {
      thrown = error;
    }
    const { logger, lines } = collecting();
    logger.error({ err: thrown }, 'cannot connect');

    logger.warn({ error: thrown }, 'cannot connect');
    expect(lines.join('')).not.toContain('pa#ss');
    expect(JSON.parse(lines[1]!).error).toMatchObject({ input: 'redis://[redacted]@127.0.0.1:6379/0' });
    expect(JSON.parse(lines[0]!).err).toMatchObject({
      code: 'ERR_INVALID_URL',
      input: 'redis://[redacted]@127.0.0.1:6379/0',
    });
  });

  it('cleans url, config, nested causes and errors, and secret-named fields', () => {
    const inner = Object.assign(new Error('connect failed'), { url: `rediss://user:${PASSWORD}@cache:6380` });
    const outer = Object.assign(new Error('upstream call failed', { cause: inner }), {
      url: '/cgi-bin/token?x=#&appid=wx1&secret=S3CRET-VALUE',
      config: {
        url: `https://api.example/cgi-bin/token?grant_type=client_credential&secret=S3CRET-VALUE`,
        headers: { Authorization: `Bearer ${KEY}`, 'content-type': 'json' },
        auth: { username: 'u', password: PASSWORD },
      },
      errors: [inner],
    });

    const serialized = JSON.stringify(serializeError(outer));

    for (const secret of ['pa#ss', 'S3CRET-VALUE', KEY]) expect(serialized).not.toContain(secret);
    const parsed = JSON.parse(serialized) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      message: 'upstream call failed: connect failed',
      url: '/cgi-bin/token?x=#&appid=wx1&secret=[redacted]',
      config: {
        headers: { Authorization: '[redacted]', 'content-type': 'json' },
        auth: { username: 'u', password: '[redacted]' },
      },
      errors: [{ url: 'rediss://[redacted]@cache:6380' }],
    });
  });

  it('keeps URLs without credentials and ordinary fields as they are', () => {
    const error = Object.assign(new Error('timeout after 1000 ms to http://cache:6379/0'), {
      code: 'ETIMEDOUT',
    });

    expect(serializeError(error)).toMatchObject({
      message: 'timeout after 1000 ms to http://cache:6379/0',
      code: 'ETIMEDOUT',
    });
    expect(stripUrlCredentials('a redis://:p@ss#x@h:1/0 b https://h/x?a=b@c')).toBe(
      'a redis://[redacted]@h:1/0 b https://[redacted]@c',
    );
  });

  it('replaces the raw bytes of an unparseable request by their length', () => {
    const error = Object.assign(new Error('Parse Error: Invalid header value char'), {
      code: 'HPE_INVALID_HEADER_TOKEN',
      rawPacket: Buffer.from(
        `GET /cgi-bin/token?secret=S3CRET-VALUE HTTP/1.1\r\nAuthorization: Bearer ${KEY}\r\n`,
      ),
    });

    const serialized = serializeError(error) as Record<string, unknown>;

    expect(serialized.rawPacket).toBeUndefined();
    expect(serialized.rawPacketBytes).toBe((error.rawPacket as Buffer).length);
    expect(JSON.stringify(serialized)).not.toMatch(/S3CRET|admin-key|"data"/);
  });

  it.each(['trace', 'info'] as const)(
    "logs nothing of a request Fastify's clientError path refuses (at %s)",
    async (level) => {
      const { logger, lines } = collecting(level);
      const app = Fastify({ loggerInstance: logger });
      app.get('/cgi-bin/token', () => 'ok');
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const { port } = app.server.address() as { port: number };
        const answer = await rawRequest(
          port,
          `GET /cgi-bin/token?secret=S3CRET-VALUE HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nX-Bad: a\u0001b\r\n\r\n`,
        );
        expect(answer).toMatch(/^HTTP\/1.1 400/);
      } finally {
        await app.close();
      }
      const output = lines.join('');
      if (level === 'trace') expect(output).toMatch(/"msg":"client error"/);
      expect(output).not.toMatch(/S3CRET|admin-key|rawPacket"|"data":\[/);
      expect(output).not.toContain(bytesOf('S3CRET-VALUE'));
    },
  );
});

/** The text a byte array of `text` serializes to inside JSON (`83,51,67,…`). */
function bytesOf(text: string): string {
  return [...Buffer.from(text)].join(',');
}

function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}
