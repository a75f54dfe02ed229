import { DomainError } from '../../common/domain-error';

/** A callback's `timestamp` is further from now than CALLBACK_MAX_CLOCK_SKEW_SECONDS (replay protection). */
export class StaleTimestampError extends DomainError {
  readonly httpStatus = 401;

  constructor(readonly skewSeconds: number) {
    super(`timestamp is ${skewSeconds} s away from now`);
    this.name = 'StaleTimestampError';
  }
}
