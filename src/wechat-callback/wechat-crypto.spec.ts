import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AppIdMismatchError } from './errors/app-id-mismatch.error';
import { DecryptError, type DecryptFailure } from './errors/decrypt.error';
import { InvalidAesKeyError } from './errors/invalid-aes-key.error';
import { sha1Signature, signatureMatches, WechatCrypto } from './wechat-crypto';

// Vectors: /work/shared/test-vectors.md
const TOKEN = 'pamtest';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AES_KEY_HEX = '69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051';
const APP_ID = 'wxb11529c136998cb6';
const FIXED_RANDOM = Buffer.from('aaaabbbbccccdddd');

const V2A_MSG = '我是中文abcd123';
const V2A_ENCRYPT =
  'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==';
const V2B_MSG =
  '<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>';
const V2B_ENCRYPT =
  'jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb';
const V2B_TIMESTAMP = '1409304348';
const V2B_NONCE = 'xxxxxx';
const V2B_MSG_SIGNATURE = 'ea88b765074e41eb8c7a75b449db34fa2fd560d5';

const B_TIMESTAMP = '1458300676';
const B_NONCE = '260774613';
const B_MSG_SIGNATURE = '4f3ad57b6989f09f4eb392acce4f9e93942ed890';
const B_ENCRYPT =
  'rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTqdFPwnhqbk+kIQ7rZiwny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1pW9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7QRI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQMLrourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1BsrASwvauNulCh+++yz+CQzBIuikA==';
const B_MSG =
  '<xml><URL><![CDATA[http://wechat.laravel.so/server]]></URL><ToUserName><![CDATA[asdasdasd]]></ToUserName><FromUserName><![CDATA[asdasdasdsadasd]]></FromUserName><CreateTime>1234567898</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>12345</MsgId></xml>';

const HEADER = 20;
const KEY = Buffer.from(AES_KEY_HEX, 'hex');
const IV = KEY.subarray(0, 16);

/** Raw AES-256-CBC without any padding of ours, to build plaintexts WechatCrypto would never produce. */
function sealRaw(plain: Buffer): string {
  const cipher = createCipheriv('aes-256-cbc', KEY, IV).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function openRaw(encrypted: string): Buffer {
  const decipher = createDecipheriv('aes-256-cbc', KEY, IV).setAutoPadding(false);
  return Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64')), decipher.final()]);
}

function layout(message: Buffer, appId: string, declaredLength = message.length): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(declaredLength);
  return Buffer.concat([FIXED_RANDOM, length, message, Buffer.from(appId)]);
}

function pad32(content: Buffer): Buffer {
  const pad = 32 - (content.length % 32);
  return Buffer.concat([content, Buffer.alloc(pad, pad)]);
}

function decryptFailure(run: () => unknown): DecryptFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof DecryptError) return error.reason;
    throw error;
  }
  throw new Error('expected a DecryptError');
}

/** Deterministic PRNG (mulberry32) so a failing case can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random valid string of exactly `bytes` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
function randomUtf8(random: () => number, bytes: number): string {
  const pools: Array<[width: number, from: number, to: number]> = [
    [1, 0x00, 0x7f],
    [2, 0x80, 0x7ff],
    [3, 0x800, 0xd7ff],
    [3, 0xe000, 0xffff],
    [4, 0x10000, 0x10ffff],
  ];
  let text = '';
  let left = bytes;
  while (left > 0) {
    const fitting = pools.filter(([width]) => width <= left);
    const [width, from, to] = fitting[Math.floor(random() * fitting.length)]!;
    text += String.fromCodePoint(from + Math.floor(random() * (to - from + 1)));
    left -= width;
  }
  return text;
}

describe('sha1Signature', () => {
  it('sorts the parts, joins them without separator and returns lowercase hex SHA-1 (node-webot vector)', () => {
    expect(sha1Signature('RMNlACHlV5ThzfRlVS4D4', 'timestamp', 'nonce', 'encrypt')).toBe(
      '8edac0945683c119ee71c9f6256d76c48aa08a96',
    );
  });

  it('gives the WxJava SHA1Test value for the sorted concatenation of 123 and 345, in either order', () => {
    expect(sha1Signature('123', '345')).toBe('9f537aeb751ec72605f57f94a2f6dc3e3958e1dd');
    expect(sha1Signature('345', '123')).toBe('9f537aeb751ec72605f57f94a2f6dc3e3958e1dd');
  });

  it('does not reorder an array spread into it', () => {
    const parts = ['b', 'a'];
    sha1Signature(...parts);
    expect(parts).toEqual(['b', 'a']);
  });
});

describe('signatureMatches', () => {
  const parts = ['RMNlACHlV5ThzfRlVS4D4', 'timestamp', 'nonce', 'encrypt'];
  const good = '8edac0945683c119ee71c9f6256d76c48aa08a96';

  it('accepts the correct lowercase signature', () => {
    expect(signatureMatches(good, ...parts)).toBe(true);
  });

  it('rejects a signature differing in one digit', () => {
    expect(signatureMatches(good.slice(0, -1) + '7', ...parts)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['too short', good.slice(0, 39)],
    ['too long', good + '0'],
    ['double length', good + good],
    ['non-hex', good.slice(0, -1) + 'g'],
    ['uppercase', good.toUpperCase()],
    ['multi-byte characters', '中'.repeat(40)],
    ['the easywechat negative', 'invalid-signature'],
  ])('returns false without throwing for a %s signature', (_label, candidate) => {
    expect(signatureMatches(candidate, ...parts)).toBe(false);
  });
});

describe('WechatCrypto', () => {
  const crypto = new WechatCrypto(TOKEN, AES_KEY, APP_ID);

  describe('construction', () => {
    it('accepts the sample key whose base64 has non-zero trailing bits, deriving AESKey 69b71d79…', () => {
      const sealed = crypto.encrypt('probe', FIXED_RANDOM);
      expect(openRaw(sealed).subarray(0, 16)).toEqual(FIXED_RANDOM);
    });

    it.each([
      ['42 characters', AES_KEY.slice(0, 42)],
      ['44 characters', AES_KEY + 'H'],
      ['a + inside', AES_KEY.slice(0, 42) + '+'],
      ['a / inside', '/' + AES_KEY.slice(1)],
      ['a trailing =', AES_KEY.slice(0, 42) + '='],
      ['a space', AES_KEY.slice(0, 21) + ' ' + AES_KEY.slice(22)],
      ['nothing', ''],
    ])('rejects an EncodingAESKey with %s as InvalidAesKeyError', (_label, key) => {
      expect(() => new WechatCrypto(TOKEN, key, APP_ID)).toThrow(InvalidAesKeyError);
    });

    it('keeps the key out of the InvalidAesKeyError message', () => {
      const key = AES_KEY.slice(0, 42);
      expect(() => new WechatCrypto(TOKEN, key, APP_ID)).toThrow(expect.objectContaining({ keyLength: 42 }));
      expect(() => new WechatCrypto(TOKEN, key, APP_ID)).not.toThrow(key.slice(0, 8));
    });

    it('exposes neither the token nor the key through JSON or own properties', () => {
      const dump = JSON.stringify(crypto) + Object.keys(crypto).join(',');
      expect(dump).not.toContain(TOKEN);
      expect(dump).not.toContain(AES_KEY);
      expect(crypto.appId).toBe(APP_ID);
    });
  });

  describe('vector A (WxJava, fixed random aaaabbbbccccdddd)', () => {
    it('encrypts V2a (11 characters, 19 UTF-8 bytes) to the published Encrypt', () => {
      expect(crypto.encrypt(V2A_MSG, FIXED_RANDOM)).toBe(V2A_ENCRYPT);
    });

    it('encrypts V2b to the published Encrypt', () => {
      expect(crypto.encrypt(V2B_MSG, FIXED_RANDOM)).toBe(V2B_ENCRYPT);
    });

    it('writes the UTF-8 byte length, not the character count, into the length field', () => {
      expect(openRaw(V2A_ENCRYPT).readUInt32BE(16)).toBe(19);
    });

    it.each([
      ['V2a', V2A_ENCRYPT, V2A_MSG],
      ['V2b', V2B_ENCRYPT, V2B_MSG],
    ])('decrypts %s back to the message and AppID', (_label, encrypted, message) => {
      expect(crypto.decrypt(encrypted)).toEqual({ message, appId: APP_ID });
      expect(crypto.decryptFor(encrypted)).toBe(message);
    });

    it('signs V2b with msg_signature ea88b765…', () => {
      expect(crypto.signEncrypted(V2B_TIMESTAMP, V2B_NONCE, V2B_ENCRYPT)).toBe(V2B_MSG_SIGNATURE);
      expect(signatureMatches(V2B_MSG_SIGNATURE, TOKEN, V2B_TIMESTAMP, V2B_NONCE, V2B_ENCRYPT)).toBe(true);
    });
  });

  describe('vector B (easywechat decrypt)', () => {
    it('verifies msg_signature 4f3ad57b… and decrypts to the published XML and AppID', () => {
      expect(crypto.signEncrypted(B_TIMESTAMP, B_NONCE, B_ENCRYPT)).toBe(B_MSG_SIGNATURE);
      expect(signatureMatches(B_MSG_SIGNATURE, TOKEN, B_TIMESTAMP, B_NONCE, B_ENCRYPT)).toBe(true);
      expect(crypto.decrypt(B_ENCRYPT)).toEqual({ message: B_MSG, appId: APP_ID });
      expect(crypto.decryptFor(B_ENCRYPT)).toBe(B_MSG);
    });

    it('rejects the msg_signature "invalid-signature"', () => {
      expect(signatureMatches('invalid-signature', TOKEN, B_TIMESTAMP, B_NONCE, B_ENCRYPT)).toBe(false);
    });

    it('rejects the message for an account whose AppID is "invalid appid" with AppIdMismatchError', () => {
      const other = new WechatCrypto(TOKEN, AES_KEY, 'invalid appid');
      expect(() => other.decryptFor(B_ENCRYPT)).toThrow(AppIdMismatchError);
      expect(() => other.decryptFor(B_ENCRYPT)).toThrow(
        expect.objectContaining({
          expected: 'invalid appid',
          found: APP_ID,
          message: 'the message was encrypted for another AppID',
        }),
      );
    });

    it('still returns the foreign AppID trailer from decrypt, which does not check it', () => {
      const other = new WechatCrypto(TOKEN, AES_KEY, 'invalid appid');
      expect(other.decrypt(B_ENCRYPT).appId).toBe(APP_ID);
    });
  });

  describe('padding to 32-byte blocks', () => {
    it('pads a layout 4 bytes past a block boundary with 28 bytes of value 28 (node-webot vector)', () => {
      // 16 + 4 + 30 + 18 (AppID) = 68 bytes = 2 blocks + 4
      const plain = openRaw(crypto.encrypt('x'.repeat(30), FIXED_RANDOM));
      expect(plain.length).toBe(96);
      expect(plain.subarray(68)).toEqual(Buffer.alloc(28, 28));
    });

    it('adds a full block of 32 × 0x20 when the layout is already aligned', () => {
      // 16 + 4 + 26 + 18 = 64
      const plain = openRaw(crypto.encrypt('y'.repeat(26), FIXED_RANDOM));
      expect(plain.length).toBe(96);
      expect(plain.subarray(64)).toEqual(Buffer.alloc(32, 32));
    });

    it('adds a single byte of value 1 when the layout is one byte short of a block', () => {
      // 16 + 4 + 25 + 18 = 63
      const plain = openRaw(crypto.encrypt('z'.repeat(25), FIXED_RANDOM));
      expect(plain.length).toBe(64);
      expect(plain[63]).toBe(1);
    });
  });

  describe('round trips', () => {
    it('round-trips random UTF-8 messages of every byte length from 0 to 200', () => {
      const random = prng(0x5eed);
      for (let bytes = 0; bytes <= 200; bytes++) {
        const message = randomUtf8(random, bytes);
        expect(Buffer.byteLength(message)).toBe(bytes);
        const encrypted = crypto.encrypt(message);
        const content = HEADER + bytes + APP_ID.length;
        expect(Buffer.from(encrypted, 'base64').length).toBe((Math.floor(content / 32) + 1) * 32);
        expect(crypto.decryptFor(encrypted)).toBe(message);
      }
    });

    it('keeps a leading byte-order mark and NUL characters', () => {
      const message = '\uFEFF\u0000hello\u0000';
      expect(crypto.decryptFor(crypto.encrypt(message))).toBe(message);
    });

    it('uses fresh random bytes for every encryption unless given some', () => {
      expect(crypto.encrypt('same')).not.toBe(crypto.encrypt('same'));
      expect(crypto.encrypt('same', FIXED_RANDOM)).toBe(crypto.encrypt('same', FIXED_RANDOM));
    });

    it('round-trips a message of several hundred kilobytes', () => {
      const message = '<xml>' + '数据'.repeat(100_000) + '</xml>';
      expect(crypto.decryptFor(crypto.encrypt(message))).toBe(message);
    });

    it.each([0, 15, 17, 32])('refuses a random prefix of %i bytes', (length) => {
      expect(() => crypto.encrypt('m', Buffer.alloc(length))).toThrow(RangeError);
    });
  });

  describe('malformed input', () => {
    it.each<[string, string, DecryptFailure]>([
      ['the empty string', '', 'length'],
      ['a non-base64 character', V2A_ENCRYPT.replace('+', '-'), 'base64'],
      ['embedded whitespace', V2A_ENCRYPT.slice(0, 20) + '\n' + V2A_ENCRYPT.slice(20), 'base64'],
      ['a length that is not a multiple of 4', V2A_ENCRYPT.slice(0, -1), 'base64'],
      ['misplaced padding', '=' + V2A_ENCRYPT.slice(1), 'base64'],
      ['three padding characters', 'AAAAA===', 'base64'],
      ['a byte count that is not a multiple of 16', V2A_ENCRYPT.slice(0, -4), 'length'],
      ['a single byte', 'AA==', 'length'],
    ])('rejects %s with DecryptError', (_label, encrypted, reason) => {
      expect(decryptFailure(() => crypto.decrypt(encrypted))).toBe(reason);
      expect(decryptFailure(() => crypto.decryptFor(encrypted))).toBe(reason);
    });

    it('rejects a ciphertext truncated by whole blocks with a DecryptError', () => {
      const sealed = Buffer.from(V2B_ENCRYPT, 'base64');
      for (let cut = 16; cut < sealed.length; cut += 16) {
        const truncated = sealed.subarray(0, sealed.length - cut).toString('base64');
        expect(() => crypto.decryptFor(truncated)).toThrow(DecryptError);
      }
    });

    it.each([
      ['a pad byte of 0', 0],
      ['a pad byte of 33', 33],
    ])('rejects %s as padding', (_label, padByte) => {
      const plain = pad32(layout(Buffer.from('hi'), APP_ID));
      plain[plain.length - 1] = padByte;
      expect(decryptFailure(() => crypto.decrypt(sealRaw(plain)))).toBe('padding');
    });

    it('rejects pad bytes that disagree with the last one', () => {
      const plain = pad32(layout(Buffer.from('hi'), APP_ID));
      plain[plain.length - 2] = 0;
      expect(decryptFailure(() => crypto.decrypt(sealRaw(plain)))).toBe('padding');
    });

    it('rejects a pad longer than the whole 16-byte plaintext', () => {
      expect(decryptFailure(() => crypto.decrypt(sealRaw(Buffer.alloc(16, 20))))).toBe('padding');
    });

    it('rejects content shorter than random plus length field', () => {
      expect(decryptFailure(() => crypto.decrypt(sealRaw(Buffer.alloc(32, 32))))).toBe('length');
      expect(decryptFailure(() => crypto.decrypt(sealRaw(pad32(Buffer.alloc(19, 7)))))).toBe('length');
    });

    it('rejects a length field pointing past the content', () => {
      const plain = pad32(layout(Buffer.from('hi'), APP_ID, 2 + APP_ID.length + 1));
      expect(decryptFailure(() => crypto.decrypt(sealRaw(plain)))).toBe('length');
      const huge = pad32(layout(Buffer.from('hi'), APP_ID, 0xffffffff));
      expect(decryptFailure(() => crypto.decrypt(sealRaw(huge)))).toBe('length');
    });

    it('reads a length field covering all content as a message with an empty AppID', () => {
      const plain = pad32(layout(Buffer.from('hi' + APP_ID), ''));
      expect(crypto.decrypt(sealRaw(plain))).toEqual({ message: 'hi' + APP_ID, appId: '' });
      expect(() => crypto.decryptFor(sealRaw(plain))).toThrow(AppIdMismatchError);
    });

    it.each([
      ['a lone continuation byte', Buffer.from([0x61, 0x80])],
      ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
      ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
      ['a truncated 3-byte sequence', Buffer.from([0xe4, 0xb8])],
    ])('rejects a message with %s as encoding', (_label, bytes) => {
      expect(decryptFailure(() => crypto.decrypt(sealRaw(pad32(layout(bytes, APP_ID)))))).toBe('encoding');
    });

    it('puts neither the key, the token nor the plaintext into DecryptError messages', () => {
      for (const reason of ['base64', 'length', 'padding', 'encoding'] as const) {
        const { message } = new DecryptError(reason);
        expect(message).not.toContain(AES_KEY);
        expect(message).not.toContain(TOKEN);
      }
      const broken = sealRaw(pad32(layout(Buffer.from([0x73, 0x65, 0x63, 0x80]), APP_ID)));
      expect(() => crypto.decrypt(broken)).toThrow(DecryptError);
      expect(() => crypto.decrypt(broken)).not.toThrow(/sec/);
    });
  });

  describe('tampering', () => {
    it('turns any tampering with the last block into DecryptError or AppIdMismatchError', () => {
      const sealed = Buffer.from(V2B_ENCRYPT, 'base64');
      for (let i = sealed.length - 16; i < sealed.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const tampered = Buffer.from(sealed);
          tampered[i]! ^= bit;
          expect(() => crypto.decryptFor(tampered.toString('base64'))).toThrow(
            expect.objectContaining({ name: expect.stringMatching(/^(DecryptError|AppIdMismatchError)$/) }),
          );
        }
      }
    });

    it('never throws anything but a domain error for a flipped byte anywhere, and msg_signature catches each one', () => {
      const sealed = Buffer.from(V2A_ENCRYPT, 'base64');
      const signature = crypto.signEncrypted('1', '2', V2A_ENCRYPT);
      for (let i = 0; i < sealed.length; i++) {
        const tampered = Buffer.from(sealed);
        tampered[i]! ^= 0x5a;
        const encrypted = tampered.toString('base64');
        try {
          crypto.decryptFor(encrypted);
        } catch (error) {
          expect(error instanceof DecryptError || error instanceof AppIdMismatchError).toBe(true);
        }
        expect(signatureMatches(signature, TOKEN, '1', '2', encrypted)).toBe(false);
      }
    });

    it('refuses a message encrypted with another account’s AppID', () => {
      const other = new WechatCrypto(TOKEN, AES_KEY, 'wx0000000000000001');
      const encrypted = other.encrypt('for someone else');
      expect(() => crypto.decryptFor(encrypted)).toThrow(AppIdMismatchError);
      expect(crypto.decrypt(encrypted)).toEqual({ message: 'for someone else', appId: 'wx0000000000000001' });
    });

    it('cannot open a message sealed under another EncodingAESKey', () => {
      const other = new WechatCrypto(TOKEN, 'bAZC8S8nz5fcQ0Ui2HxQVGbC6FzyrzWKSuDbmzpBo3G', APP_ID);
      const encrypted = other.encrypt('secret text');
      expect(() => crypto.decryptFor(encrypted)).toThrow(
        expect.objectContaining({ name: expect.stringMatching(/^(DecryptError|AppIdMismatchError)$/) }),
      );
    });
  });

  describe('encryptedReply', () => {
    const reply = '<xml><ToUserName><![CDATA[o1]]></ToUserName><Content><![CDATA[你好]]></Content></xml>';
    const envelope =
      /^<xml><Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]><\/Encrypt><MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]><\/MsgSignature><TimeStamp>(\d+)<\/TimeStamp><Nonce><!\[CDATA\[([^\]]*)\]\]><\/Nonce><\/xml>$/;

    it('produces the exact envelope whose Encrypt decrypts to the reply and whose signature verifies', () => {
      const xml = crypto.encryptedReply(reply, V2B_TIMESTAMP, V2B_NONCE);
      const match = envelope.exec(xml);
      expect(match).not.toBeNull();
      const [, encrypted, signature, timestamp, nonce] = match as unknown as string[];
      expect([timestamp, nonce]).toEqual([V2B_TIMESTAMP, V2B_NONCE]);
      expect(crypto.decryptFor(encrypted!)).toBe(reply);
      expect(signatureMatches(signature!, TOKEN, timestamp!, nonce!, encrypted!)).toBe(true);
    });

    it('builds the envelope from the V2b vector byte for byte', () => {
      expect(crypto.encryptedReply(V2B_MSG, V2B_TIMESTAMP, V2B_NONCE, FIXED_RANDOM)).toBe(
        `<xml><Encrypt><![CDATA[${V2B_ENCRYPT}]]></Encrypt><MsgSignature><![CDATA[${V2B_MSG_SIGNATURE}]]></MsgSignature>` +
          `<TimeStamp>${V2B_TIMESTAMP}</TimeStamp><Nonce><![CDATA[${V2B_NONCE}]]></Nonce></xml>`,
      );
    });

    it('keeps a hostile nonce or timestamp from breaking out of its element', () => {
      const xml = crypto.encryptedReply(reply, '1<x/>', 'a]]><Evil/>');
      expect(xml).not.toContain('<x/>');
      expect(xml).toContain('<TimeStamp>1&lt;x/&gt;</TimeStamp>');
      expect(xml).toContain('<Nonce><![CDATA[a]]]]><![CDATA[><Evil/>]]></Nonce>');
    });
  });
});
