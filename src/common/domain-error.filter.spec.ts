import { NotFoundException, type ArgumentsHost } from '@nestjs/common';
import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import { TokenUnavailableError } from '../token/errors/token-unavailable.error';
import { DomainErrorFilter } from './domain-error.filter';

/** A minimal Fastify reply that records what the filter sends. */
function host(url: string): {
  host: ArgumentsHost;
  sent: { status?: number; body?: unknown; headers: Record<string, string> };
} {
  const sent: { status?: number; body?: unknown; headers: Record<string, string> } = { headers: {} };
  const reply = {
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    status(code: number) {
      sent.status = code;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const context = { getResponse: () => reply, getRequest: () => ({ url }) };
  return { host: { switchToHttp: () => context } as unknown as ArgumentsHost, sent };
}

describe('DomainErrorFilter', () => {
  it("never echoes the query of an unknown route (it may carry a secret): Nest's 404 message loses it", () => {
    const url = '/sns/oauth2/access_token?appid=wx0000000000000001&secret=TopSecretValue123&code=abc';
    const { host: context, sent } = host(url);
    new DomainErrorFilter().catch(new NotFoundException(`Cannot GET ${url}`), context);
    expect(sent.status).toBe(404);
    expect(sent.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /sns/oauth2/access_token',
    });
    expect(JSON.stringify(sent.body)).not.toContain('TopSecretValue123');
  });

  it('keeps other 404 messages as they are', () => {
    const { host: context, sent } = host('/api/v1/accounts/wxnope/token');
    new DomainErrorFilter().catch(new NotFoundException('account wxnope is not configured'), context);
    expect(sent.body).toMatchObject({ message: 'account wxnope is not configured' });
  });

  it('answers a domain error by its own status, with Retry-After', () => {
    const { host: context, sent } = host('/api/v1/accounts/wx1/token');
    new DomainErrorFilter().catch(new TokenUnavailableError('wx1', 'WeChat is busy', -1, 2_500), context);
    expect(sent.status).toBe(503);
    expect(sent.headers).toEqual({ 'retry-after': '3' });
    expect(sent.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });

  it('answers WeChat-shaped on /cgi-bin/* through the same mapping as the gateway', () => {
    const { host: context, sent } = host('/cgi-bin/stable_token');
    new DomainErrorFilter().catch(new AccountNotFoundError('wx1'), context);
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({
      errcode: 40001,
      errmsg: 'invalid credential, access_token is invalid or not latest',
    });
  });
});
