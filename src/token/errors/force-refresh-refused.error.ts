/** A forced refresh was refused to protect WeChat's force_refresh limits (20 a day, 30 s apart). */
export class ForceRefreshRefusedError extends Error {
  constructor(
    readonly appId: string,
    readonly reason: 'budget' | 'spacing',
    readonly retryAfterMs: number,
  ) {
    super(
      reason === 'budget'
        ? `the daily force-refresh budget of ${appId} is spent`
        : `force refreshes of ${appId} must be at least 30 s apart; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.name = 'ForceRefreshRefusedError';
  }
}
