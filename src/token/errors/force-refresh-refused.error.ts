import { DomainError } from '../../common/domain-error';

/** A forced refresh was refused to protect WeChat's force_refresh limits (by default 20 a day, 30 s apart). */
export class ForceRefreshRefusedError extends DomainError {
  readonly httpStatus = 429;

  /**
   * @param retryAfterMs when a retry can succeed: the end of the spacing, or the next midnight Beijing time
   *   (when the daily budget resets)
   * @param minIntervalMs the configured spacing between forced refreshes
   */
  constructor(
    readonly appId: string,
    readonly reason: 'budget' | 'spacing',
    readonly retryAfterMs: number,
    minIntervalMs = 30_000,
  ) {
    super(
      reason === 'budget'
        ? `the daily force-refresh budget of ${appId} is spent; it resets at midnight Beijing time, in ${Math.ceil(retryAfterMs / 60_000)} min`
        : `force refreshes of ${appId} must be at least ${Math.round(minIntervalMs / 1000)} s apart; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.name = 'ForceRefreshRefusedError';
  }
}
