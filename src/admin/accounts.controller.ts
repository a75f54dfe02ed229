import {
  NotFoundException,
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import type { AccountsDiff } from '../accounts/account-diff';
import { requestActor, requestPrincipal } from '../audit/request-actor';
import { canUseAccount } from '../clients/principal';
import { ROUTE_ON_REQUEST } from '../common/route-hooks';
import { ConfigError } from '../config/config-error';
import { TOKEN_READ_ROUTE } from '../logging/request-logging';
import { NO_STORE_ROUTE } from '../common/no-store';
import { TicketService, type JsapiSignature } from '../token/ticket.service';
import { TokenService, type AccountTokenState } from '../token/token.service';
import { ADMIN_AUTH_ERRORS, ApiErrorResponses } from '../docs/api-error-responses.decorator';
import { ADMIN_KEY_SCHEME } from '../docs/openapi.constants';
import { AccountsReloader } from './accounts-reloader';
import { AccountsDiffDto } from './accounts-diff.dto';
import { AccountsStateDto } from './accounts-state.dto';
import { AdminAuthGuard } from './admin-auth.guard';
import { RequireScope } from './require-scope.decorator';
import { JsapiSignatureDto } from './jsapi-signature.dto';
import { InvalidTokenReportDto } from './token-report.dto';
import { InvalidTokenReportResultDto, TicketResponseDto, TokenResponseDto } from './token-response.dto';
import { TokenReadHook } from './token-read.hook';
import { tokenResponse, type TokenResponse } from './token-response';

const APP_ID_PARAM = ApiParam({
  name: 'appId',
  type: String,
  description: 'A configured AppID.',
  example: 'wxAPPID',
});

@Controller('api/v1/accounts')
@UseGuards(AdminAuthGuard)
@ApiBearerAuth(ADMIN_KEY_SCHEME)
@ApiErrorResponses(ADMIN_AUTH_ERRORS)
export class AccountsController {
  constructor(
    private readonly tokens: TokenService,
    private readonly tickets: TicketService,
    private readonly reloader: AccountsReloader,
  ) {}

  /**
   * Re-reads the accounts (WECHAT_ACCOUNTS_FILE or WECHAT_ACCOUNTS) and applies them without a restart:
   * `{added, removed, changed, unchanged}`. When they are not valid nothing changes and the 400 lists the problems.
   */
  @RequireScope('operate', 'every')
  @Post('reload')
  @ApiTags('reload')
  @ApiOperation({
    summary: 'Re-read the accounts without a restart',
    description:
      'Re-reads WECHAT_ACCOUNTS_FILE or WECHAT_ACCOUNTS and applies the accounts. Stored tokens are kept: a ' +
      'removed account added back gets its token again, a changed one keeps it until the next refresh.',
  })
  @ApiOkResponse({ type: AccountsDiffDto, description: 'What changed (AppIDs only).' })
  @ApiErrorResponses([400], {
    400: 'The accounts are not valid (the message lists the problems); nothing changed.',
  })
  @HttpCode(200)
  async reload(@Req() request: FastifyRequest): Promise<AccountsDiff> {
    try {
      return await this.reloader.reload(requestActor(request));
    } catch (error) {
      if (error instanceof ConfigError)
        throw new BadRequestException(`accounts not reloaded: ${error.problems.join('; ')}`);
      throw error;
    }
  }

  /** Every account's token state. Never a secret, never a token. */
  @RequireScope('read', 'none')
  @Get()
  @ApiTags('accounts')
  @ApiOperation({
    summary: "Every account's token state",
    description:
      'Token version, fetched/expires at, next refresh, endpoint, upstream calls today, force budget left, ' +
      'invalid reports, foreign invalidations, last error. Never a secret, never a token.',
  })
  @ApiOkResponse({ type: AccountsStateDto, description: 'The store in use and every account.' })
  async list(@Req() request: FastifyRequest): Promise<{ store: string; accounts: AccountTokenState[] }> {
    const principal = requestPrincipal(request);
    const accounts = await this.tokens.describeAccounts();
    return {
      store: this.tokens.storeDescription,
      // a client sees only its own accounts
      accounts: principal ? accounts.filter((a) => canUseAccount(principal, a.appId)) : accounts,
    };
  }

  /**
   * The current token. TokenReadHook answers the common case (a key already verified, the token in memory) before
   * the guard runs; this method serves the rest. A successful read is counted, not logged (TokenReads).
   */
  @RequireScope('read')
  @Get(':appId/token')
  @RouteConfig({ [ROUTE_ON_REQUEST]: TokenReadHook, [TOKEN_READ_ROUTE]: true, [NO_STORE_ROUTE]: true })
  @ApiTags('tokens')
  @ApiOperation({
    summary: "The account's current access_token",
    description:
      "The hot path of every client: served from the hub's shared token (never one WeChat call per request) and " +
      'never rate-limited per client. `expires_in` is the seconds left now.',
  })
  @APP_ID_PARAM
  @ApiOkResponse({ type: TokenResponseDto, description: 'The current token.' })
  @ApiErrorResponses([404, 503])
  async token(@Param('appId') appId: string): Promise<TokenResponse> {
    return tokenResponse(await this.tokens.getToken(appId));
  }

  /** A caller saw 40001/40014/42001 with this token: refresh only if it is still the current one. */
  @RequireScope('report')
  @Post(':appId/token/invalid')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @ApiTags('tokens')
  @ApiOperation({
    summary: 'Report a token WeChat refused (40001/40014/42001)',
    description:
      'Compare-and-refresh: refreshes only if the reported token is still the current one; answers the token ' +
      'to use now and what was decided.',
  })
  @APP_ID_PARAM
  @ApiBody({ type: InvalidTokenReportDto })
  @ApiOkResponse({
    type: InvalidTokenReportResultDto,
    description: 'The token to use now, and what was decided.',
  })
  @ApiErrorResponses([400, 404, 503])
  @HttpCode(200)
  async invalid(
    @Param('appId') appId: string,
    @Body() body: InvalidTokenReportDto,
    @Req() request: FastifyRequest,
  ): Promise<TokenResponse & { outcome: string }> {
    const { token, outcome } = await this.tokens.reportInvalidWithOutcome(
      appId,
      body.access_token,
      requestActor(request),
    );
    return { ...tokenResponse(token), outcome };
  }

  /** The current JS-SDK ticket (`jsapi` or `wx_card`): `{ticket, expires_in, expires_at, version}`. */
  @RequireScope('read')
  @Get(':appId/tickets/:type')
  @RouteConfig({ [TOKEN_READ_ROUTE]: true, [NO_STORE_ROUTE]: true })
  @ApiTags('tickets')
  @ApiOperation({
    summary: 'The current JS-SDK ticket',
    description: 'Managed like the token: one `getticket` per rotation for the whole fleet.',
  })
  @APP_ID_PARAM
  @ApiParam({ name: 'type', enum: ['jsapi', 'wx_card'], description: 'Which ticket.' })
  @ApiOkResponse({ type: TicketResponseDto, description: 'The current ticket.' })
  @ApiErrorResponses([404, 503], {
    404: 'Unknown account, or a ticket type other than jsapi and wx_card.',
  })
  async ticket(
    @Param('appId') appId: string,
    @Param('type') type: string,
  ): Promise<{ ticket: string; expires_in: number; expires_at: string; version: number }> {
    if (type !== 'jsapi' && type !== 'wx_card')
      throw new NotFoundException('ticket type must be jsapi or wx_card');
    const { access_token: ticket, ...rest } = tokenResponse(await this.tickets.getTicket(appId, type));
    return { ticket, ...rest };
  }

  /**
   * What a page needs for `wx.config`: `{appId, timestamp, nonceStr, signature, url}` for the page's absolute URL
   * (its `#fragment` is dropped), signed with the account's current jsapi ticket.
   */
  @RequireScope('read')
  @Get(':appId/jsapi-signature')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @ApiTags('tickets')
  @ApiOperation({
    summary: 'Sign a page URL for wx.config',
    description: "Signed with the account's current jsapi ticket; the URL's `#fragment` is dropped.",
  })
  @APP_ID_PARAM
  @ApiQuery({
    name: 'url',
    required: true,
    type: String,
    description: 'The absolute http(s) URL of the page.',
    example: 'https://shop.example.com/item?id=7',
  })
  @ApiOkResponse({ type: JsapiSignatureDto, description: 'The fields of wx.config.' })
  @ApiErrorResponses([400, 404, 503], {
    400: 'The url query parameter is missing or not an absolute http(s) URL.',
  })
  async jsapiSignature(@Param('appId') appId: string, @Query('url') url: unknown): Promise<JsapiSignature> {
    if (typeof url !== 'string' || !url) throw new BadRequestException('url query parameter is required');
    try {
      return await this.tickets.getJsapiSignature(appId, url);
    } catch (error) {
      if (error instanceof TypeError) throw new BadRequestException(error.message);
      throw error;
    }
  }

  /** Operator's forced refresh; spends the daily force budget (429 when spent or too soon). */
  @RequireScope('operate')
  @Post(':appId/token/refresh')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @ApiTags('tokens')
  @ApiOperation({
    summary: "Operator's forced refresh",
    description:
      'Spends the daily force budget (TOKEN_FORCE_DAILY_BUDGET, and TOKEN_FORCE_MIN_INTERVAL_SECONDS apart). ' +
      'Clients that saw a token refused should report it instead.',
  })
  @APP_ID_PARAM
  @ApiOkResponse({ type: TokenResponseDto, description: 'The new token.' })
  @ApiErrorResponses([404, 429, 503], {
    429: 'Force budget spent or the last force refresh too recent (see `Retry-After`), or too many failed authentications.',
  })
  @HttpCode(200)
  async refresh(@Param('appId') appId: string, @Req() request: FastifyRequest): Promise<TokenResponse> {
    return tokenResponse(await this.tokens.forceRefresh(appId, requestActor(request)));
  }
}
