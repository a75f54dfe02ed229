/**
 * The demo account of sandbox mode. It exists only in the built-in simulator; these values are not
 * secrets and never reach WeChat (sandbox mode is refused when NODE_ENV=production).
 */
export const SANDBOX_DEMO_ACCOUNT = {
  appId: 'wxsandboxdemo00001',
  appSecret: 'sandboxdemosecret000000000000001',
  token: 'sandboxtoken',
  encodingAESKey: 'sandboxdemoencodingaeskey000000000000000001',
  messageMode: 'compatible',
  tokenEndpoint: 'stable',
} as const;

/** Admin key used in sandbox mode when ADMIN_API_KEYS is not set, so a newcomer can try the admin API. */
export const SANDBOX_ADMIN_KEY = 'sandbox-admin-key-not-for-production';
