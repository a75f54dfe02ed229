import { DomainError, type WechatErrorAnswer } from '../../../common/domain-error';

/** A request body is larger than the gateway accepts (413). */
export class BodyTooLargeError extends DomainError {
  readonly httpStatus = 413;

  constructor(readonly limitBytes: number) {
    super(`the request body exceeds ${limitBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }

  override get wechatAnswer(): WechatErrorAnswer {
    return { status: 413, errcode: 40006, errmsg: `invalid media size: ${this.message}` };
  }
}
