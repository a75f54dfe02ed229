import type { ValidationError } from 'class-validator';

/** A configuration value is missing or wrong. The message names the field and never contains a secret. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * class-validator's errors as one line each, named by their path (`WECHAT_ACCOUNTS[0].appId must be …`). Only the
 * constraint messages are used: they never quote the rejected value, which may be a secret.
 */
export function validationProblems(errors: ValidationError[], path: string): string[] {
  return errors.flatMap((error) => {
    const here = /^\d+$/.test(error.property)
      ? `${path}[${error.property}]`
      : path
        ? `${path}.${error.property}`
        : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property)
        ? `${here}${message.slice(error.property.length)}`
        : `${here}: ${message}`,
    );
    return [...own, ...validationProblems(error.children ?? [], here)];
  });
}
