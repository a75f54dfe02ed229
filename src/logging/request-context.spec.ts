import type { IncomingMessage } from 'node:http';
import { appIdOfUrl, requestIdOf } from './request-context';

const withHeader = (value: string | string[] | undefined): IncomingMessage =>
  ({ headers: value === undefined ? {} : { 'x-request-id': value } }) as unknown as IncomingMessage;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestIdOf', () => {
  it("keeps a caller's well-formed X-Request-Id", () => {
    for (const id of [
      'abc-123',
      'trace:00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'a/b+c=d@e.f_g',
    ]) {
      expect(requestIdOf(withHeader(id))).toBe(id);
    }
    expect(requestIdOf(withHeader(['first-id', 'second-id']))).toBe('first-id');
  });

  it('replaces a missing, oversized or unsafe id with a new UUID', () => {
    for (const id of [
      undefined,
      '',
      'x'.repeat(129),
      'has space',
      'quote"inside',
      'brace{',
      'line\nbreak',
      'ünïcode',
    ]) {
      expect(requestIdOf(withHeader(id))).toMatch(UUID);
    }
    expect(requestIdOf(withHeader(undefined))).not.toBe(requestIdOf(withHeader(undefined)));
  });
});

describe('appIdOfUrl', () => {
  const appId = 'wx1234567890abcdef';

  it.each([
    [`/wechat/${appId}?signature=x&timestamp=1&nonce=2`],
    [`/api/v1/accounts/${appId}/token`],
    [`/api/v1/accounts/${appId}`],
    [`/gateway/${appId}/cgi-bin/menu/get`],
    [`/cgi-bin/token?grant_type=client_credential&appid=${appId}&secret=x`],
    [`/cgi-bin/token?APPID=${appId}`],
  ])('finds the account of %s', (url) => {
    expect(appIdOfUrl(url)).toBe(appId);
  });

  it.each([
    ['/api/v1/accounts'],
    ['/api/v1/accounts/reload'],
    ['/health'],
    ['/wechat/not-an-appid'],
    [`/cgi-bin/getcallbackip?access_token=${appId}`],
    [`/metrics?appid=${appId}`],
    [`/gateway/${appId}x/cgi-bin/menu/get`],
  ])('names no account for %s', (url) => {
    expect(appIdOfUrl(url)).toBeUndefined();
  });
});
