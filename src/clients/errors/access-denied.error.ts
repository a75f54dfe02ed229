import { DomainError } from '../../common/domain-error';
import type { ClientScope } from '../client-scope';

/**
 * A known key asked for something its client may not do: a scope it lacks, or an account outside its `appIds`
 * (answered 403). The message names the client and what was refused; it reads the same whether the account exists
 * or not.
 */
export class AccessDeniedError extends DomainError {
  readonly httpStatus = 403;

  constructor(
    message: string,
    readonly client: string,
    readonly scope: ClientScope,
    readonly appId: string | null,
  ) {
    super(message);
    this.name = 'AccessDeniedError';
  }
}
