import { DomainError, type WechatErrorAnswer } from '../../common/domain-error';
import { INVALID_CREDENTIAL_ERRMSG } from '../../wechat-transport/wechat-errcodes';

/** The appId is not one of the configured accounts. */
export class AccountNotFoundError extends DomainError {
  readonly httpStatus = 404;

  constructor(readonly appId: string) {
    super(`account ${appId} is not configured`);
    this.name = 'AccountNotFoundError';
  }

  /** To an SDK, a token or appid the hub does not know is an invalid credential (40001). */
  override get wechatAnswer(): WechatErrorAnswer {
    return { status: 200, errcode: 40001, errmsg: INVALID_CREDENTIAL_ERRMSG };
  }
}
