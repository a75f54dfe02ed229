/** An errcode and its errmsg; the simulator adds the `rid` when it answers. */
export type WechatErrorCode = readonly [number, string];

/** The WeChat errors the simulator core answers with. */
export const ERR = {
  busy: [-1, 'system error'],
  invalidCredential: [40001, 'invalid credential, access_token is invalid or not latest'],
  invalidGrantType: [40002, 'invalid grant_type'],
  invalidAppId: [40013, 'invalid appid'],
  invalidSecret: [40125, 'invalid appsecret'],
  invalidMessageType: [40008, 'invalid message type'],
  tokenMissing: [41001, 'access_token missing'],
  appIdMissing: [41002, 'appid missing'],
  secretMissing: [41004, 'appsecret missing'],
  tokenExpired: [42001, 'access_token expired'],
  requirePost: [43002, 'require POST method'],
  dailyLimit: [45009, 'reach max api daily quota limit'],
  dataFormat: [47001, 'data format error'],
} as const satisfies Record<string, WechatErrorCode>;

/** Whether an answer is an error rather than a result. */
export function isErrorCode(value: unknown): value is WechatErrorCode {
  return Array.isArray(value);
}
