import { AsyncLocalStorage } from 'node:async_hooks';
import type { MessageFormat, MessageMode } from '../accounts/account-config';

/** What a handler knows about the push it is handling. */
export interface WechatCallbackContext {
  appId: string;
  /** The sender (`FromUserName`). */
  openId: string;
  /** The message text exactly as received (decrypted when the push was encrypted): XML or JSON, per `format`. */
  raw: string;
  /** The push's data format, the account's `messageFormat`: `xml`, or `json` (Mini Programs set to JSON). */
  format: MessageFormat;
  /**
   * The message XML exactly as received; `''` for a JSON push.
   * @deprecated read `raw` (and `format`), which carries JSON pushes too
   */
  rawXml: string;
  /** The account's configured mode. */
  mode: MessageMode;
  /** Whether this push arrived encrypted (the reply is encrypted too). */
  encrypted: boolean;
  /** ms since epoch when the hub received the push. */
  receivedAt: number;
}

const storage = new AsyncLocalStorage<WechatCallbackContext>();

/** The context of the push being handled, from anywhere in the handler's async call tree; undefined outside one. */
export function currentWechatContext(): WechatCallbackContext | undefined {
  return storage.getStore();
}

export function runInWechatContext<T>(context: WechatCallbackContext, fn: () => T): T {
  return storage.run(context, fn);
}
