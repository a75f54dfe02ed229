import { logDestination, prettyLine } from './log-destination';
import { SecretScrubber } from './secret-scrubber';

describe('logDestination', () => {
  it('scrubs each line before the sink sees it, and pretty-prints it on request', () => {
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({ accounts: [{ appSecret: 'abcdef0123456789abcdef' }], apiKeys: [] });
    const written: string[] = [];
    const line =
      '{"level":40,"time":"2026-11-21T10:42:49.155Z","context":"X","msg":"saw abcdef0123456789abcdef"}\n';

    logDestination({ scrubber, sink: { write: (chunk) => written.push(chunk) } }).write(line);
    logDestination({ scrubber, pretty: true, sink: { write: (chunk) => written.push(chunk) } }).write(line);

    expect(written).toEqual([
      '{"level":40,"time":"2026-11-21T10:42:49.155Z","context":"X","msg":"saw [redacted]"}\n',
      '10:42:49.155 WARN  [X] saw [redacted]\n',
    ]);
  });
});

describe('prettyLine', () => {
  it('puts the request id and account after the message and other fields last', () => {
    const line = JSON.stringify({
      level: 30,
      time: '2026-11-21T10:42:49.155Z',
      pid: 1,
      reqId: 'r1',
      appId: 'wx1234567890abcdef',
      method: 'GET',
      statusCode: 200,
      msg: 'request completed',
    });

    expect(prettyLine(line)).toBe(
      '10:42:49.155 INFO  request completed {r1 wx1234567890abcdef} method=GET statusCode=200\n',
    );
  });

  it('passes a line that is not JSON through', () => {
    expect(prettyLine('plain text\n')).toBe('plain text\n');
  });
});
