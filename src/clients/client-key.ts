import { hash } from 'node:crypto';

/** SHA-256 of `text`, the form in which keys are kept and compared. */
export function keyDigest(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/**
 * How a key is named in logs, metrics, rate limits and the audit log: `key#` + the first 8 hex digits of its
 * SHA-256 (the same as the admin keys' `apiKeyId`). Computable from the key
 * (`printf %s "$KEY" | sha256sum | cut -c1-8`) or from a configured `keySha256`.
 */
export function keyFingerprint(sha256: Buffer): string {
  return `key#${sha256.toString('hex').slice(0, 8)}`;
}
