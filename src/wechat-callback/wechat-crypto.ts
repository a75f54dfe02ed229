import {
  createCipheriv,
  createDecipheriv,
  hash,
  createSecretKey,
  randomFillSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { AppIdMismatchError } from './errors/app-id-mismatch.error';
import { DecryptError } from './errors/decrypt.error';
import { InvalidAesKeyError } from './errors/invalid-aes-key.error';

const CIPHER = 'aes-256-cbc';
const PAD_BLOCK = 32;
const RANDOM_BYTES = 16;
/** random(16) ‖ uint32BE length */
const HEADER_BYTES = RANDOM_BYTES + 4;

const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const LOWER_HEX_SHA1 = /^[0-9a-f]{40}$/;

// ignoreBOM keeps a leading U+FEFF in the message instead of silently stripping it.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// one-shot hashing: no Hash object per signature (this runs on every callback)
function sha1Digest(parts: string[]): Buffer {
  return hash('sha1', parts.sort().join(''), 'buffer');
}

/**
 * WeChat's signature: the parts sorted lexicographically (plain JS string order), concatenated with no
 * separator, SHA-1, lowercase hex. `sha1Signature(token, timestamp, nonce)` is the callback `signature`;
 * adding the `Encrypt` value gives `msg_signature`.
 */
export function sha1Signature(...parts: string[]): string {
  return sha1Digest(parts).toString('hex');
}

/**
 * Whether `expected` (as received, e.g. from a query string) equals `sha1Signature(...parts)`, compared in
 * constant time. Anything that is not 40 lowercase hex digits is `false`, never an exception.
 */
export function signatureMatches(expected: string, ...parts: string[]): boolean {
  if (!LOWER_HEX_SHA1.test(expected)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), sha1Digest(parts));
}

function cdata(value: string): string {
  return value.includes(']]>') ? value.replaceAll(']]>', ']]]]><![CDATA[>') : value;
}

function xmlText(value: string): string {
  return /[<>&]/.test(value)
    ? value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
    : value;
}

/** A decrypted callback message and the AppID trailer it carried. */
export interface DecryptedMessage {
  message: string;
  appId: string;
}

/**
 * One account's callback message crypto (安全模式 / 兼容模式): AES-256-CBC with IV = AESKey[0..16), PKCS#7
 * padding to 32-byte blocks, plaintext layout `random(16) ‖ uint32BE(byteLength(msg)) ‖ msg ‖ appId`.
 *
 * CBC is malleable and the decrypt failures are distinguishable, so always check `msg_signature`
 * ({@link signEncrypted} / {@link signatureMatches}) before calling {@link decrypt} or {@link decryptFor}.
 * The token and key live in private fields so they never show up in logs or JSON.
 */
export class WechatCrypto {
  readonly #token: string;
  readonly #key: KeyObject;
  readonly #iv: Buffer;
  readonly #appIdBytes: Buffer;

  /**
   * @param token the callback token (服务器配置 → 令牌)
   * @param encodingAESKey the 43-character EncodingAESKey
   * @param appId the account's AppID, appended to every encrypted message and expected back
   * @throws InvalidAesKeyError when the key is malformed
   */
  constructor(
    token: string,
    encodingAESKey: string,
    readonly appId: string,
  ) {
    if (!ENCODING_AES_KEY.test(encodingAESKey)) throw new InvalidAesKeyError(encodingAESKey.length);
    // Lenient decode on purpose: the official sample key has non-zero trailing bits.
    const aesKey = Buffer.from(encodingAESKey + '=', 'base64');
    if (aesKey.length !== 32) throw new InvalidAesKeyError(encodingAESKey.length);
    this.#token = token;
    this.#key = createSecretKey(aesKey);
    this.#iv = Buffer.from(aesKey.subarray(0, 16));
    this.#appIdBytes = Buffer.from(appId, 'utf8');
    aesKey.fill(0);
  }

  /**
   * Encrypts `message` for this account and returns the base64 `Encrypt` value.
   * @param random the 16 leading random bytes; defaults to fresh crypto-random bytes (fix it only in tests)
   */
  encrypt(message: string, random?: Buffer): string {
    if (random !== undefined && random.length !== RANDOM_BYTES) {
      throw new RangeError(`random must be exactly ${RANDOM_BYTES} bytes, got ${random.length}`);
    }
    const messageBytes = Buffer.byteLength(message, 'utf8');
    const contentBytes = HEADER_BYTES + messageBytes + this.#appIdBytes.length;
    const pad = PAD_BLOCK - (contentBytes % PAD_BLOCK);
    const plain = Buffer.allocUnsafe(contentBytes + pad);
    if (random) random.copy(plain, 0);
    else randomFillSync(plain, 0, RANDOM_BYTES);
    plain.writeUInt32BE(messageBytes, RANDOM_BYTES);
    plain.write(message, HEADER_BYTES, 'utf8');
    this.#appIdBytes.copy(plain, HEADER_BYTES + messageBytes);
    plain.fill(pad, contentBytes);

    const cipher = createCipheriv(CIPHER, this.#key, this.#iv).setAutoPadding(false);
    const sealed = cipher.update(plain);
    cipher.final();
    return sealed.toString('base64');
  }

  /**
   * Opens an `Encrypt` value. The AppID trailer is returned as found, not checked: use {@link decryptFor}
   * to require this account's AppID.
   * @throws DecryptError when the value is not base64, has an impossible length, bad padding or non-UTF-8 text
   */
  decrypt(encrypted: string): DecryptedMessage {
    const { plain, messageEnd, contentEnd } = this.#open(encrypted);
    return {
      message: this.#decodeMessage(plain, messageEnd),
      appId: plain.toString('utf8', messageEnd, contentEnd),
    };
  }

  /**
   * Opens an `Encrypt` value addressed to this account and returns the message.
   * @throws DecryptError as {@link decrypt}
   * @throws AppIdMismatchError when the AppID trailer is not this account's AppID
   */
  decryptFor(encrypted: string): string {
    const { plain, messageEnd, contentEnd } = this.#open(encrypted);
    if (!this.#appIdBytes.equals(plain.subarray(messageEnd, contentEnd))) {
      throw new AppIdMismatchError(this.appId, plain.toString('utf8', messageEnd, contentEnd));
    }
    return this.#decodeMessage(plain, messageEnd);
  }

  /** The `msg_signature` of an `Encrypt` value: `sha1Signature(token, timestamp, nonce, encrypted)`. */
  signEncrypted(timestamp: string, nonce: string, encrypted: string): string {
    return sha1Signature(this.#token, timestamp, nonce, encrypted);
  }

  /**
   * Encrypts a passive reply and wraps it in WeChat's reply envelope
   * (`<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`). Reusing the request's timestamp and nonce
   * is the usual practice.
   */
  encryptedReply(replyXml: string, timestamp: string, nonce: string, random?: Buffer): string {
    const encrypted = this.encrypt(replyXml, random);
    const signature = this.signEncrypted(timestamp, nonce, encrypted);
    return (
      `<xml><Encrypt><![CDATA[${encrypted}]]></Encrypt><MsgSignature><![CDATA[${signature}]]></MsgSignature>` +
      `<TimeStamp>${xmlText(timestamp)}</TimeStamp><Nonce><![CDATA[${cdata(nonce)}]]></Nonce></xml>`
    );
  }

  #open(encrypted: string): { plain: Buffer; messageEnd: number; contentEnd: number } {
    if (encrypted.length % 4 !== 0 || !BASE64.test(encrypted)) throw new DecryptError('base64');
    const sealed = Buffer.from(encrypted, 'base64');
    if (sealed.length === 0 || sealed.length % 16 !== 0) throw new DecryptError('length');

    const decipher = createDecipheriv(CIPHER, this.#key, this.#iv).setAutoPadding(false);
    const plain = decipher.update(sealed);
    decipher.final();

    const pad = plain[plain.length - 1] ?? 0;
    if (pad < 1 || pad > PAD_BLOCK || pad > plain.length) throw new DecryptError('padding');
    const contentEnd = plain.length - pad;
    for (let i = contentEnd; i < plain.length - 1; i++) {
      if (plain[i] !== pad) throw new DecryptError('padding');
    }
    if (contentEnd < HEADER_BYTES) throw new DecryptError('length');
    const messageEnd = HEADER_BYTES + plain.readUInt32BE(RANDOM_BYTES);
    if (messageEnd > contentEnd) throw new DecryptError('length');
    return { plain, messageEnd, contentEnd };
  }

  #decodeMessage(plain: Buffer, messageEnd: number): string {
    try {
      return UTF8.decode(plain.subarray(HEADER_BYTES, messageEnd));
    } catch {
      throw new DecryptError('encoding');
    }
  }
}
