import FindMyWay from 'find-my-way';
import { REDACTED, redactUrl, SENSITIVE_QUERY_PARAMS } from './redact-url';

describe('redactUrl', () => {
  it.each([
    [
      '/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CRET',
      '/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=[redacted]',
    ],
    ['/cgi-bin/menu/get?access_token=TOKEN123', '/cgi-bin/menu/get?access_token=[redacted]'],
    [
      '/gateway/wx1/cgi-bin/user/info?openid=o1&access_token=T&lang=zh_CN',
      '/gateway/wx1/cgi-bin/user/info?openid=o1&access_token=[redacted]&lang=zh_CN',
    ],
    [
      '/wechat/wx1?signature=abc&timestamp=1&nonce=2&echostr=ECHO',
      '/wechat/wx1?signature=[redacted]&timestamp=1&nonce=2&echostr=[redacted]',
    ],
    [
      '/wechat/wx1?signature=a&timestamp=1&nonce=2&openid=o&encrypt_type=aes&msg_signature=m',
      '/wechat/wx1?signature=[redacted]&timestamp=1&nonce=2&openid=o&encrypt_type=aes&msg_signature=[redacted]',
    ],
    [
      '/sns/oauth2/access_token?appid=wx1&secret=S&code=C0DE&grant_type=authorization_code',
      '/sns/oauth2/access_token?appid=wx1&secret=[redacted]&code=[redacted]&grant_type=authorization_code',
    ],
    [
      '/cgi-bin/ticket/getticket?access_token=T&type=jsapi',
      '/cgi-bin/ticket/getticket?access_token=[redacted]&type=jsapi',
    ],
  ])('redacts the credentials of %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('matches parameter names whatever their case or percent-encoding', () => {
    expect(redactUrl('/x?ACCESS_TOKEN=a&Secret=b&access%5Ftoken=c&%73ecret=d')).toBe(
      '/x?ACCESS_TOKEN=[redacted]&Secret=[redacted]&access%5Ftoken=[redacted]&%73ecret=[redacted]',
    );
  });

  it('redacts every occurrence of a repeated parameter', () => {
    expect(redactUrl('/x?access_token=a&access_token=b')).toBe(
      '/x?access_token=[redacted]&access_token=[redacted]',
    );
  });

  it('keeps URLs without credentials byte for byte, including malformed escapes', () => {
    for (const url of [
      '/health',
      '/api/v1/accounts/wx1/token',
      '/x?',
      '/x?a=1&b=%E4%BD%A0&c',
      '/x?%zz=1&b=2',
    ]) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('leaves an empty value and a valueless name alone', () => {
    expect(redactUrl('/x?access_token=&secret&code=1')).toBe('/x?access_token=&secret&code=[redacted]');
  });

  // what Fastify's router (find-my-way + fast-querystring) hands a route as `request.query`, checked below
  describe('reads the query as the router does', () => {
    it.each([
      // the router reads the query past a `#`: `x` is '#', `secret` is the secret
      ['/cgi-bin/token?x=#&appid=wx1&secret=S3CRET', '/cgi-bin/token?x=#&appid=wx1&secret=[redacted]'],
      // a `#` ends the path as a `?` does
      ['/cgi-bin/token#&secret=S3CRET', '/cgi-bin/token#&secret=[redacted]'],
      ['/cgi-bin/token#secret=S3CRET', '/cgi-bin/token#secret=[redacted]'],
      // a value runs to the next `&`, whatever `#` or `?` it holds
      ['/x?code=1#frag', '/x?code=[redacted]'],
      ['/x?secret=ab?cd#ef&b=2', '/x?secret=[redacted]&b=2'],
      // `;` ends the path with useSemicolonDelimiter, and separates parameters for other parsers
      ['/cgi-bin/token;secret=S3CRET', '/cgi-bin/token;secret=[redacted]'],
      ['/x?a=1;access_token=T0KEN&b=2', '/x?a=1;access_token=[redacted]&b=2'],
      // names decoded as the parser does: `+` is a space, escapes of any case, twice-encoded
      ['/x?+secret+=S3CRET', '/x?+secret+=[redacted]'],
      ['/x?%73%45cret=S3CRET', '/x?%73%45cret=[redacted]'],
      ['/x?%2573ecret=S3CRET', '/x?%2573ecret=[redacted]'],
      ['/x?access%5ftoken=T0KEN', '/x?access%5ftoken=[redacted]'],
      // repeated names: every occurrence
      ['/x?secret=a&secret=b&secret=S3CRET', '/x?secret=[redacted]&secret=[redacted]&secret=[redacted]'],
      // an encoded value is redacted whole
      ['/x?secret=S3%43RET&b=2', '/x?secret=[redacted]&b=2'],
      // an absolute-form request target
      [
        'http://hub.example/cgi-bin/token?secret=S3CRET',
        'http://hub.example/cgi-bin/token?secret=[redacted]',
      ],
      ['http://u:p@ss#w@hub.example/cgi-bin/menu?a=1', 'http://[redacted]@hub.example/cgi-bin/menu?a=1'],
    ])('%s', (url, expected) => {
      expect(redactUrl(url)).toBe(expected);
    });

    it('redacts every value the router reads as a sensitive parameter', () => {
      const urls = [
        '/cgi-bin/token?x=#&appid=wx1&secret=S3CRET',
        '/cgi-bin/token#&secret=S3CRET',
        '/x?a=%26&secret=S3%43RET',
        '/x?se%63ret=S3CRET&SECRET=S3CRET',
        '/x?secret=S3CRET&secret=S3CRET#',
        '/x?a=b=c&access_token=S3CRET',
        '/x?%E4%BD%A0=1&secret=S3CRET',
        '/x?secret',
        '/x?q=a+b&access_token=S3CRET',
      ];
      for (const url of urls) {
        const redacted = redactUrl(url);
        const { path, query } = routerSplit(redacted);
        expect({ url, path }).toEqual({ url, path: routerSplit(url).path });
        for (const [name, value] of Object.entries(query)) {
          if (SENSITIVE_QUERY_PARAMS.includes(name.toLowerCase())) {
            for (const one of ([] as string[]).concat(value)) {
              expect({ url, name, value: one }).toEqual({ url, name, value: one === '' ? '' : REDACTED });
            }
          }
        }
      }
    });
  });
});

/** The path and query a Fastify route sees for `url`, from Fastify's own router. */
function routerSplit(url: string): { path: string; query: Record<string, string | string[]> } {
  let seen: { path: string; query: Record<string, string | string[]> } | undefined;
  const router = FindMyWay({ defaultRoute: () => undefined });
  router.on('GET', '*', (request, _response, params, _store, searchParams) => {
    seen = { path: `/${params['*'] ?? ''}`, query: { ...searchParams } as Record<string, string | string[]> };
  });
  router.lookup({ method: 'GET', url, headers: {} } as never, {} as never);
  if (seen === undefined) throw new Error(`the router did not route ${url}`);
  return seen;
}
