import type { AccountRegistry } from '../accounts/account-registry';
import { backoffMs } from '../common/time';
import type { CredentialKind } from './credential-kind';
import { AccountNotFoundError } from './errors/account-not-found.error';
import { UpstreamTokenError } from './errors/upstream-token.error';
import type { WechatTokenClient } from './wechat-token-client';
import { TOKEN_DEAD_ERRCODES as TOKEN_ERRCODES } from '../wechat-transport/wechat-errcodes';

export type TicketType = 'jsapi' | 'wx_card';

/** The access token a ticket call needs, and its repair when WeChat refuses it. */
export interface TicketTokenSource {
  getAccessToken(appId: string): Promise<string>;
  /** Compare-and-refresh of a refused token; resolves to the token to use now. */
  reportInvalid(appId: string, token: string): Promise<{ value: string }>;
}

/**
 * A JS-SDK ticket (`jsapi_ticket`, `wx_card_ticket`): fetched with the account's access token (a kind that needs
 * another credential); a call refused for its token repairs the token (compare-and-refresh) and is retried once.
 * Every getticket call counts in the day counter `getticket_<type>`.
 */
export function ticketKind(
  type: TicketType,
  deps: { client: WechatTokenClient; accounts: AccountRegistry; tokens: TicketTokenSource },
): CredentialKind {
  const { client, accounts, tokens } = deps;
  const slow = (error: UpstreamTokenError): boolean =>
    error.kind === 'configuration' || error.kind === 'quota' || error.kind === 'rejected';
  return {
    id: type === 'jsapi' ? 'jsapi_ticket' : 'wx_card_ticket',
    label: `${type} ticket`,
    rotation: () => 'rotating',
    endpoint: (appId) => {
      const account = accounts.get(appId);
      if (!account) throw new AccountNotFoundError(appId);
      return account.tokenEndpoint;
    },
    dayCounter: `getticket_${type}`,
    needsAttention: slow,
    backoffMs: (error, attempt) =>
      slow(error) ? backoffMs(attempt - 1, 60_000, 30 * 60_000) : backoffMs(attempt - 1, 1_000, 30_000),
    async fetch({ appId, countCall }) {
      const startedAt = Date.now();
      const call = (token: string) => {
        countCall();
        return client.fetchTicket(token, type);
      };
      let token = await tokens.getAccessToken(appId);
      let fetched;
      try {
        fetched = await call(token);
      } catch (error) {
        if (!(error instanceof UpstreamTokenError) || !TOKEN_ERRCODES.has(error.errcode ?? 0)) throw error;
        token = (await tokens.reportInvalid(appId, token)).value;
        fetched = await call(token);
      }
      return { value: fetched.accessToken, expiresInSeconds: fetched.expiresInSeconds, startedAt };
    },
  };
}
