import { DomainError } from '../../common/domain-error';

/**
 * A callback body of a JSON-format account (a Mini Program set to 数据格式 JSON) is not the JSON WeChat sends:
 * not well-formed, not an object at the top, a duplicate or reserved (`__proto__`, `constructor`, `prototype`)
 * key, nesting deeper than a push ever has, or a number or string past a sane size. Neither the message nor the
 * fields ever carry any part of the body (it may hold user content).
 */
export class MalformedJsonError extends DomainError {
  readonly httpStatus = 400;

  constructor(
    readonly reason: string,
    /** The character offset in the body where reading stopped, when the error is about one place in it. */
    readonly offset?: number,
  ) {
    super(`malformed callback JSON: ${reason}${offset === undefined ? '' : ` (at offset ${offset})`}`);
    this.name = 'MalformedJsonError';
  }
}
