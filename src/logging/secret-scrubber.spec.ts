import { LEARNED_PER_ACCOUNT, SecretScrubber } from './secret-scrubber';

const APP_SECRET = 'abcdef0123456789abcdef0123456789';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const CALLBACK_TOKEN = 'callbackToken1';
const API_KEY = 'admin-key-with-"quotes"-and-\\slash';

function configured(): SecretScrubber {
  const scrubber = new SecretScrubber();
  scrubber.addConfigured({
    accounts: [{ appSecret: APP_SECRET, token: CALLBACK_TOKEN, encodingAESKey: AES_KEY }],
    apiKeys: [API_KEY],
  });
  return scrubber;
}

describe('SecretScrubber', () => {
  it('replaces every configured secret wherever it appears in a serialized line', () => {
    const line = JSON.stringify({
      msg: `failed with secret ${APP_SECRET} and key ${AES_KEY}`,
      nested: { value: `x${CALLBACK_TOKEN}y`, again: APP_SECRET },
      header: `Bearer ${API_KEY}`,
    });

    const scrubbed = configured().scrub(line);

    for (const secret of [APP_SECRET, AES_KEY, CALLBACK_TOKEN, JSON.stringify(API_KEY).slice(1, -1)]) {
      expect(scrubbed).not.toContain(secret);
    }
    expect(scrubbed).toContain('failed with secret [redacted] and key [redacted]');
    expect(JSON.parse(scrubbed)).toMatchObject({ nested: { value: 'x[redacted]y', again: '[redacted]' } });
  });

  it('leaves a line without secrets unchanged', () => {
    const line = '{"level":30,"msg":"token of wx1234567890abcdef refreshed: version 3"}\n';

    expect(configured().scrub(line)).toBe(line);
  });

  it('replaces a longer secret whole when it contains a shorter one', () => {
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({
      accounts: [{ appSecret: 'shortsecret', token: 'shortsecret-and-more' }],
      apiKeys: [],
    });

    expect(scrubber.scrub('a shortsecret-and-more b shortsecret c')).toBe('a [redacted] b [redacted] c');
  });

  it('merges overlapping secrets into one redaction, leaving no piece of either', () => {
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({ accounts: [{ appSecret: 'AAAAbbbbCCCC', token: 'CCCCddddEEEE' }], apiKeys: [] });

    expect(scrubber.scrub('<AAAAbbbbCCCCddddEEEE> AAAAbbbbCCCC')).toBe('<[redacted]> [redacted]');
  });

  it('does not scrub values too short to be told from ordinary words', () => {
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({ accounts: [{ appSecret: APP_SECRET, token: 'abc' }], apiKeys: [] });

    expect(scrubber.scrub('abc is a word')).toBe('abc is a word');
  });

  it('scrubs learned tokens and keeps only the last ones of each account and kind', () => {
    const scrubber = new SecretScrubber();
    const tokens = Array.from({ length: LEARNED_PER_ACCOUNT + 2 }, (_, i) => `token-${i}-${'x'.repeat(40)}`);
    for (const token of tokens) scrubber.learn('wx1', 'access_token', token);
    scrubber.learn('wx2', 'access_token', tokens[0]!);
    scrubber.learn('wx1', 'jsapi', 'ticket-value-0000000000');

    expect(scrubber.scrub(`${tokens.at(-1)} ticket-value-0000000000`)).toBe('[redacted] [redacted]');
    // the oldest of wx1 were forgotten, but wx2 learned the very first one
    expect(scrubber.scrub(tokens[1]!)).toBe(tokens[1]);
    expect(scrubber.scrub(tokens[0]!)).toBe('[redacted]');
    expect(scrubber.size).toBe(LEARNED_PER_ACCOUNT + 2);
  });

  it('keeps a replaced secret after a reload adds the new one', () => {
    const scrubber = configured();
    scrubber.addConfigured({ accounts: [{ appSecret: 'newsecret0123456789abcdef' }], apiKeys: [] });

    expect(scrubber.scrub(`${APP_SECRET} newsecret0123456789abcdef`)).toBe('[redacted] [redacted]');
  });

  describe('finds a secret however it is encoded', () => {
    const SECRET = 'Ab+cD/ef 9#x?é€z';
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({ accounts: [{ appSecret: APP_SECRET }], apiKeys: [SECRET] });

    const encodeAll = (value: string, upper = true): string =>
      [...Buffer.from(value, 'utf8')]
        .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
        .map((escape) => (upper ? escape.toUpperCase() : escape))
        .join('');

    it.each([
      ['one character percent-encoded', `abcdef0123456789%61bcdef0123456789`, APP_SECRET],
      ['one character in lower-case hex', `abcdef0123456789abcdef%301234567%38%39`, APP_SECRET],
      ['every character encoded', encodeAll(APP_SECRET), APP_SECRET],
      ['encoded twice', encodeAll(APP_SECRET).replace(/%/g, '%25'), APP_SECRET],
      ['form-encoded (space as +)', encodeURIComponent(SECRET).replace(/%20/g, '+'), SECRET],
      ['URI-encoded (space as %20)', encodeURIComponent(SECRET), SECRET],
      ['encoded in lower-case hex', encodeAll(SECRET, false), SECRET],
      ['a multi-byte character raw, the rest encoded', `Ab%2BcD%2Fef%209%23x%3F${'é'}%E2%82%ACz`, SECRET],
      ['a `+` left as it is, the rest encoded', 'Ab+cD%2Fef%209%23x%3F%C3%A9%E2%82%ACz', SECRET],
    ])('%s', (_case, written, secret) => {
      const line = JSON.stringify({
        msg: 'request completed',
        url: `/cgi-bin/token?appid=wx1&secret=${written}&x=1`,
      });
      const scrubbed = scrubber.scrub(line);

      expect(scrubbed).toBe(line.replace(written, '[redacted]'));
      expect(JSON.parse(scrubbed)).toEqual({
        msg: 'request completed',
        url: '/cgi-bin/token?appid=wx1&secret=[redacted]&x=1',
      });
      expect(decodeURIComponent(scrubbed)).not.toContain(secret.slice(0, 8));
    });

    it('leaves escapes that spell no secret, and malformed ones, as they are', () => {
      const line = '{"url":"/x?a=%E4%BD%A0%zz%4&b=abcdef0123456789%6","q":"a+b+c"}';

      expect(scrubber.scrub(line)).toBe(line);
    });

    it('finds encoded secrets next to raw ones and redacts each once', () => {
      const encoded = encodeAll(APP_SECRET);

      expect(scrubber.scrub(`a ${APP_SECRET} b ${encoded} c ${APP_SECRET}${encoded} d`)).toBe(
        'a [redacted] b [redacted] c [redacted] d',
      );
    });
  });

  it('scrubs the Redis passwords it is given', () => {
    const scrubber = new SecretScrubber();
    scrubber.addConfigured({
      accounts: [],
      apiKeys: [],
      redisPasswords: ['redis#pass/word', 'sentinel-pw-1'],
    });

    expect(scrubber.scrub('redis://:redis%23pass%2Fword@h:6379 sentinel-pw-1')).toBe(
      'redis://:[redacted]@h:6379 [redacted]',
    );
  });
});
