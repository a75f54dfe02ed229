import { redactUrl } from './redact-url';

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

  it('leaves an empty value and a valueless name alone and keeps the fragment', () => {
    expect(redactUrl('/x?access_token=&secret&code=1#frag')).toBe(
      '/x?access_token=&secret&code=[redacted]#frag',
    );
  });
});
