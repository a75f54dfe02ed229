import { AccountConfig } from '../accounts/account-config';

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

/** The demo Mini Program of sandbox mode, beside the demo account; its pushes are JSON, as Mini Programs allow. */
export const SANDBOX_DEMO_MINI_PROGRAM = {
  appId: 'wxsandboxdemomp001',
  appSecret: 'sandboxminiprogramsecret00000001',
  token: 'sandboxtoken',
  encodingAESKey: 'sandboxdemominiprogramaeskey000000000000001',
  messageMode: 'safe',
  tokenEndpoint: 'stable',
  kind: 'miniProgram',
  messageFormat: 'json',
} as const;

/** The demo accounts sandbox mode adds to the configured ones (those whose appId is not configured already). */
export function withSandboxDemoAccounts(accounts: AccountConfig[]): AccountConfig[] {
  const missing = [SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM].filter(
    (demo) => !accounts.some((a) => a.appId === demo.appId),
  );
  return [...accounts, ...missing.map((demo) => Object.assign(new AccountConfig(), demo))];
}

/** Admin key used in sandbox mode when ADMIN_API_KEYS is not set, so a newcomer can try the admin API. */
export const SANDBOX_ADMIN_KEY = 'sandbox-admin-key-not-for-production';
