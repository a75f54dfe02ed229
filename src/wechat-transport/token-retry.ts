import { isTokenDead } from './wechat-errcodes';

/** How {@link withTokenRetry} calls WeChat and repairs a dead token. */
export interface TokenRetryOptions<T> {
  /** The token of the first attempt. */
  token: string;
  /** One attempt with `token`. */
  call(token: string): Promise<T>;
  /** The errcode WeChat answered in `result` (undefined or 0 when none). */
  errcodeOf(result: T): number | undefined;
  /**
   * Reports `token` as dead to the token plane (compare-and-refresh: many reports of one token cause one
   * refresh) and resolves to the token to use now; undefined when it could not be repaired (no retry then).
   */
  reportInvalid(token: string): Promise<string | undefined>;
  /** Whether the call can be sent again (false for a consumed upload stream: the token is still repaired). */
  replayable?: boolean;
  /** Told before the repair, with the dead-token errcode. */
  onDeadToken?(errcode: number): void;
}

/** The outcome of {@link withTokenRetry}. */
export interface TokenRetryOutcome<T> {
  /** The last attempt's result (a second dead-token answer is returned, never retried again). */
  result: T;
  /** Attempts made: 1, or 2 after the one retry. */
  attempts: 1 | 2;
  /** Whether the token was reported and replaced. */
  repaired: boolean;
}

/**
 * Calls WeChat with a token; when the answer says the token is dead (40001/40014/42001) reports it through the
 * token plane's compare-and-refresh and calls **once** more with the token handed back. Never a third attempt,
 * so a token WeChat keeps refusing cannot loop.
 */
export async function withTokenRetry<T>(options: TokenRetryOptions<T>): Promise<TokenRetryOutcome<T>> {
  const first = await options.call(options.token);
  const errcode = options.errcodeOf(first);
  if (errcode === undefined || !isTokenDead(errcode)) return { result: first, attempts: 1, repaired: false };
  options.onDeadToken?.(errcode);
  const fresh = await options.reportInvalid(options.token);
  if (fresh === undefined) return { result: first, attempts: 1, repaired: false };
  if (options.replayable === false) return { result: first, attempts: 1, repaired: true };
  return { result: await options.call(fresh), attempts: 2, repaired: true };
}
