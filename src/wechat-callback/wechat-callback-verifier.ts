import { Injectable, Optional } from '@nestjs/common';
import { MetricsService, type CallbackRejection } from '../metrics/metrics.service';
import { messageFormatOf, type AccountConfig, type MessageFormat } from '../accounts/account-config';
import { AccountRegistry } from '../accounts/account-registry';
import { AppIdMismatchError } from './errors/app-id-mismatch.error';
import { CallbackNotConfiguredError } from './errors/callback-not-configured.error';
import { DecryptError } from './errors/decrypt.error';
import { InvalidAesKeyError } from './errors/invalid-aes-key.error';
import { InvalidSignatureError } from './errors/invalid-signature.error';
import { CallbackModeError } from './errors/plaintext-refused.error';
import { StaleTimestampError } from './errors/stale-timestamp.error';
import { MalformedJsonError } from './errors/malformed-json.error';
import { MalformedXmlError } from './errors/malformed-xml.error';
import { InjectWechatCallbackOptions } from './wechat-callback.constants';
import type { ResolvedCallbackOptions } from './wechat-callback-options';
import { signatureMatches, WechatCrypto } from './wechat-crypto';
import { openEncryptedJsonPush, parseWechatJson } from './wechat-json';
import { parseWechatXml } from './wechat-xml';

export type CallbackQuery = Record<string, unknown>;

/** A push that passed every check, ready to dispatch. */
export interface VerifiedPush {
  account: AccountConfig & { token: string };
  /** The message in the XML parser's shape, whichever format it arrived in: every leaf a string. */
  message: Record<string, unknown>;
  /** The message text exactly as received (decrypted when the push was encrypted), XML or JSON per `format`. */
  raw: string;
  /** The account's push data format, which the push had to match. */
  format: MessageFormat;
  encrypted: boolean;
  timestamp: string;
  nonce: string;
  receivedAt: number;
}

function param(query: CallbackQuery, name: string): string | undefined {
  const value = query[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;
}

/** Signature checks, timestamp window, mode rules and decryption of WeChat's pushes. Knows nothing of handlers. */
@Injectable()
export class WechatCallbackVerifier {
  private readonly cryptos = new Map<string, { key: string; crypto: WechatCrypto }>();

  constructor(
    private readonly accounts: AccountRegistry,
    @InjectWechatCallbackOptions() private readonly options: ResolvedCallbackOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  account(appId: string): AccountConfig & { token: string } {
    const account = this.accounts.getOrThrow(appId);
    if (!account.token) throw new CallbackNotConfiguredError(appId);
    return account as AccountConfig & { token: string };
  }

  /** The URL check of the console: answers `echostr` when `signature` is right. */
  verifyUrl(appId: string, query: CallbackQuery): string {
    this.checkSignature(this.account(appId), query);
    const echostr = param(query, 'echostr');
    if (echostr === undefined) throw new MalformedXmlError('echostr is missing');
    return echostr;
  }

  /**
   * The whole check of a POST as it arrived (body as parsed by the HTTP layer, content type as sent): only a body
   * kept raw (XML, text, no content type, and JSON on the push route) can be checked, because the signature covers
   * the exact bytes. The body must be in the account's `messageFormat`. Refusals are counted by reason.
   */
  verifyRequest(
    appId: string,
    query: CallbackQuery,
    body: unknown,
    contentType: string | undefined,
  ): VerifiedPush {
    try {
      if (typeof body !== 'string' || body.length === 0 || /form/i.test(contentType ?? '')) {
        throw this.formatError(appId, 'the body must be the raw text of a WeChat push');
      }
      return this.verifyPush(appId, query, body);
    } catch (error) {
      const reason = rejection(error);
      if (reason) this.metrics?.callbackRejection(reason);
      throw error;
    }
  }

  /**
   * Checks and opens a push body of the account's format: the signature and timestamp first, then the mode rules
   * (plain, compatible, safe) the same for XML and JSON, then decryption with the `msg_signature` check.
   */
  verifyPush(appId: string, query: CallbackQuery, body: string): VerifiedPush {
    const receivedAt = Date.now();
    const account = this.account(appId);
    const { timestamp, nonce } = this.checkSignature(account, query);
    const format = messageFormatOf(account);
    const bodyFormat = sniffFormat(body);
    if (bodyFormat !== format) {
      throw format === 'json'
        ? new MalformedJsonError(
            `this account pushes JSON (messageFormat json); the body is ${bodyFormat ?? 'neither JSON nor XML'}`,
          )
        : new MalformedXmlError(
            `this account pushes XML (messageFormat xml); the body is ${bodyFormat ?? 'neither XML nor JSON'}`,
          );
    }
    const encryptedRequest = param(query, 'encrypt_type') === 'aes';
    const outer = format === 'json' ? parseWechatJson(body) : parseWechatXml(body);
    const encrypt = typeof outer.Encrypt === 'string' && outer.Encrypt.length > 0 ? outer.Encrypt : undefined;

    if (!encryptedRequest || encrypt === undefined) {
      if (account.messageMode === 'safe')
        throw new CallbackModeError('this account is in safe mode: plaintext pushes are refused');
      if (encryptedRequest) {
        throw format === 'json'
          ? new MalformedJsonError('encrypt_type=aes but the body has no Encrypt string')
          : new MalformedXmlError('encrypt_type=aes but the body has no Encrypt element');
      }
      return { account, message: outer, raw: body, format, encrypted: false, timestamp, nonce, receivedAt };
    }

    const msgSignature = param(query, 'msg_signature');
    if (format === 'json') {
      if (msgSignature === undefined) throw new InvalidSignatureError('msg_signature');
      const opened = openEncryptedJsonPush(this.crypto(account), outer, { timestamp, nonce, msgSignature });
      return {
        account,
        message: opened.message,
        raw: opened.json,
        format,
        encrypted: true,
        timestamp,
        nonce,
        receivedAt,
      };
    }
    if (
      msgSignature === undefined ||
      !signatureMatches(msgSignature, account.token, timestamp, nonce, encrypt)
    ) {
      throw new InvalidSignatureError('msg_signature');
    }
    const xml = this.crypto(account).decryptFor(encrypt);
    return {
      account,
      message: parseWechatXml(xml),
      raw: xml,
      format,
      encrypted: true,
      timestamp,
      nonce,
      receivedAt,
    };
  }

  /** The malformed-body error of the account's format (an unknown account: XML's). */
  private formatError(appId: string, reason: string): Error {
    const account = this.accounts.get(appId);
    return account && messageFormatOf(account) === 'json'
      ? new MalformedJsonError(reason)
      : new MalformedXmlError(reason);
  }

  crypto(account: AccountConfig & { token: string }): WechatCrypto {
    if (!account.encodingAESKey)
      throw new CallbackModeError('the push is encrypted but the account has no encodingAESKey');
    const cached = this.cryptos.get(account.appId);
    const key = `${account.token}:${account.encodingAESKey}`;
    if (cached && cached.key === key) return cached.crypto;
    const crypto = new WechatCrypto(account.token, account.encodingAESKey, account.appId);
    this.cryptos.set(account.appId, { key, crypto });
    return crypto;
  }

  private checkSignature(
    account: AccountConfig & { token: string },
    query: CallbackQuery,
  ): { timestamp: string; nonce: string } {
    const signature = param(query, 'signature');
    const timestamp = param(query, 'timestamp');
    const nonce = param(query, 'nonce');
    if (signature === undefined || timestamp === undefined || nonce === undefined) {
      throw new InvalidSignatureError('signature');
    }
    if (!signatureMatches(signature, account.token, timestamp, nonce))
      throw new InvalidSignatureError('signature');
    if (this.options.maxClockSkewSeconds > 0) {
      const skew = Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp));
      if (!Number.isFinite(skew) || skew > this.options.maxClockSkewSeconds) {
        throw new StaleTimestampError(Number.isFinite(skew) ? skew : -1);
      }
    }
    return { timestamp, nonce };
  }
}

/** `json` for a body opening with `{`, `xml` for `<`, past leading white space; undefined for anything else. */
function sniffFormat(body: string): MessageFormat | undefined {
  const first = /\S/.exec(body)?.[0];
  return first === '{' ? 'json' : first === '<' ? 'xml' : undefined;
}

function rejection(error: unknown): CallbackRejection | undefined {
  if (error instanceof InvalidSignatureError) return 'signature';
  if (error instanceof StaleTimestampError) return 'timestamp';
  if (error instanceof MalformedXmlError || error instanceof MalformedJsonError) return 'malformed';
  if (error instanceof CallbackModeError) return 'mode';
  if (
    error instanceof DecryptError ||
    error instanceof AppIdMismatchError ||
    error instanceof InvalidAesKeyError
  )
    return 'decrypt';
  return undefined;
}
