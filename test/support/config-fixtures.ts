import { ConfigError } from '../../src/config/config-error';
import { loadWxhubConfig } from '../../src/config/wxhub-config';

/** A valid account on the stable token endpoint (the default). */
export const STABLE = { appId: 'wx1234567890abcdef', appSecret: 'abcdef0123456789abcdef0123456789' };

/** A valid account on the legacy token endpoint. */
export const LEGACY = {
  appId: 'wxfedcba0987654321',
  appSecret: '0123456789abcdef0123456789abcdef',
  tokenEndpoint: 'legacy',
};

/** A well-formed 43-character EncodingAESKey. */
export const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** An environment holding `accounts` as WECHAT_ACCOUNTS JSON, plus `env`. */
export function accountsEnv(accounts: unknown, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { WECHAT_ACCOUNTS: JSON.stringify(accounts), ...env };
}

/** The ConfigError that `load` throws; fails the test if it throws something else or nothing. */
export function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

/** The ConfigError that loading `env` throws. */
export function loadError(env: NodeJS.ProcessEnv): ConfigError {
  return configError(() => loadWxhubConfig(env));
}
