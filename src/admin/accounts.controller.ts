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
import type { FastifyRequest } from 'fastify';
import type { AccountsDiff } from '../accounts/account-diff';
import { requestActor } from '../audit/request-actor';
import { ConfigError } from '../config/config-error';
import { TicketService, type JsapiSignature } from '../token/ticket.service';
import { TokenService, type AccountTokenState } from '../token/token.service';
import { AccountsReloader } from './accounts-reloader';
import { AdminAuthGuard } from './admin-auth.guard';
import { InvalidTokenReportDto } from './token-report.dto';
import { tokenResponse, type TokenResponse } from './token-response';

@Controller('api/v1/accounts')
@UseGuards(AdminAuthGuard)
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
  @Post('reload')
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
  @Get()
  async list(): Promise<{ store: string; accounts: AccountTokenState[] }> {
    return { store: this.tokens.storeDescription, accounts: await this.tokens.describeAccounts() };
  }

  @Get(':appId/token')
  async token(@Param('appId') appId: string): Promise<TokenResponse> {
    return tokenResponse(await this.tokens.getToken(appId));
  }

  /** A caller saw 40001/40014/42001 with this token: refresh only if it is still the current one. */
  @Post(':appId/token/invalid')
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
  @Get(':appId/tickets/:type')
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
  @Get(':appId/jsapi-signature')
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
  @Post(':appId/token/refresh')
  @HttpCode(200)
  async refresh(@Param('appId') appId: string, @Req() request: FastifyRequest): Promise<TokenResponse> {
    return tokenResponse(await this.tokens.forceRefresh(appId, requestActor(request)));
  }
}
