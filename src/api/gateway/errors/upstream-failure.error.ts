import { DomainError } from '../../../common/domain-error';

/**
 * WeChat could not be reached, did not answer in time, or answered with an HTTP 5xx. The gateway answers 504
 * for `timeout`, 502 otherwise (WeChat-shaped `-1 system error` on the `/cgi-bin/*` pass-through).
 */
export class UpstreamFailureError extends DomainError {
  constructor(
    readonly kind: 'timeout' | 'unreachable' | 'bad-status',
    message: string,
    /** WeChat's HTTP status, for `bad-status`. */
    readonly upstreamStatus?: number,
  ) {
    super(message);
    this.name = 'UpstreamFailureError';
  }

  get httpStatus(): number {
    return this.kind === 'timeout' ? 504 : 502;
  }
}
