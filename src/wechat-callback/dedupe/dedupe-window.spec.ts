import { ConfigError } from '../../config/config-error';
import { loadWxhubConfig } from '../../config/wxhub-config';
import { resolveCallbackOptions } from '../wechat-callback-options';

/** The ConfigError of `env`; fails the test if loading succeeds. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadWxhubConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the de-duplication TTL and the timestamp window', () => {
  it('remembers a push by default for the whole window in which it is accepted (2 × skew + margin)', () => {
    expect(loadWxhubConfig({}).callback.dedupeTtlSeconds).toBeGreaterThanOrEqual(2 * 300);
    expect(loadWxhubConfig({}).callback.dedupeTtlSeconds).toBe(630);
    expect(loadWxhubConfig({ CALLBACK_MAX_CLOCK_SKEW_SECONDS: '60' }).callback.dedupeTtlSeconds).toBe(150);
    expect(loadWxhubConfig({ CALLBACK_MAX_CLOCK_SKEW_SECONDS: '3600' }).callback.dedupeTtlSeconds).toBe(7230);
  });

  it('refuses at boot an explicit TTL shorter than the window, naming both settings', () => {
    const error = configError({ CALLBACK_DEDUPE_TTL_SECONDS: '120' });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toMatch(/CALLBACK_DEDUPE_TTL_SECONDS \(120\) must be at least 630/);
    expect(error.message).toMatch(/CALLBACK_MAX_CLOCK_SKEW_SECONDS \(300\)/);
  });

  it('keeps an explicit TTL that covers the window', () => {
    const config = loadWxhubConfig({
      CALLBACK_MAX_CLOCK_SKEW_SECONDS: '60',
      CALLBACK_DEDUPE_TTL_SECONDS: '900',
    });
    expect(config.callback.dedupeTtlSeconds).toBe(900);
  });

  it('with the window off (skew 0) remembers pushes for 120 s by default, and at least 60 s', () => {
    expect(loadWxhubConfig({ CALLBACK_MAX_CLOCK_SKEW_SECONDS: '0' }).callback.dedupeTtlSeconds).toBe(120);
    expect(
      loadWxhubConfig({ CALLBACK_MAX_CLOCK_SKEW_SECONDS: '0', CALLBACK_DEDUPE_TTL_SECONDS: '60' }).callback
        .dedupeTtlSeconds,
    ).toBe(60);
  });

  it('applies the same rule to the module options of a host application', () => {
    expect(resolveCallbackOptions({}).dedupeTtlMs).toBe(630_000);
    expect(resolveCallbackOptions({ maxClockSkewSeconds: 5 }).dedupeTtlMs).toBe(40_000);
    expect(() => resolveCallbackOptions({ maxClockSkewSeconds: 300, dedupeTtlSeconds: 120 })).toThrow(
      /must be at least 630/,
    );
  });
});
