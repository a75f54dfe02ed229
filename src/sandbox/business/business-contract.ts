/*
 * What a business route and the simulator core agree on. The core (WechatSimulator) checks the access_token,
 * applies faults, counts and records every business route; a route only answers. Routes see the simulator
 * through SimulatorHandle, so they never import the core.
 */

/** A request to a business endpoint, as its handler sees it: the access_token has been checked already. */
export interface BusinessRequest {
  /** The app owning the access_token. */
  appId: string;
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body (multipart uploads stay bytes). */
  body: Buffer;
  /** The body parsed as a JSON object, or null when it is not one. */
  json(): Record<string, unknown> | null;
}

/** JSON to send, or bytes (media downloads). */
export type BusinessResult =
  object | { binary: Buffer; contentType: string; headers?: Record<string, string> };

export type BusinessHandler = (
  request: BusinessRequest,
  simulator: SimulatorHandle,
) => BusinessResult | Promise<BusinessResult>;

/** A business endpoint: `GET|POST path?access_token=…` answering 41001/40001/42001 for missing or dead tokens. */
export interface BusinessRoute {
  method: 'GET' | 'POST';
  path: string;
  handler: BusinessHandler;
}

/** What a business route may use of the simulator; WechatSimulator implements it. */
export interface SimulatorHandle {
  /** The simulator's clock (milliseconds). */
  readonly now: () => number;
  /** A WeChat-shaped error with a fresh `rid`. */
  wechatError(errcode: number, errmsg: string): { errcode: number; errmsg: string };
  hasApp(appId: string): boolean;
  /** What the app is: an Official Account or a Mini Program. */
  appKind(appId: string): 'officialAccount' | 'miniProgram';
  /**
   * For routes outside the core's business scope (e.g. `/sns/jscode2session`): the error answer of an injected
   * `busy` or `errcode` fault matching `path` and `appId`, if one applies now (it is then spent like any fault).
   */
  injectedError(path: string, appId: string | undefined): { errcode: number; errmsg: string } | undefined;
  verifyAppSecret(appId: string, secret: string): boolean;
  /** The issued-token lifetime now in force, in seconds (tickets and web tokens live as long). */
  tokenLifetimeSeconds(): number;
  /** Token calls of an app so far (for quota answers). */
  tokenCalls(appId: string): { token: number; stableToken: number };
  /** Receipt times of the customer-service messages of `appId`. */
  customMessageTimes(appId: string): number[];
  /** Receipt times of the requests of `appId` to business `path` (the one being answered included). */
  requestTimes(appId: string, path: string): number[];
  /** Whether the simulator serves `path` with a basic access_token. */
  serves(path: string): boolean;
}
