import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { TokenService, type AccountTokenState } from '../token/token.service';
import { AdminAuthGuard } from './admin-auth.guard';
import { InvalidTokenReportDto } from './token-report.dto';
import { tokenResponse, type TokenResponse } from './token-response';

@Controller('api/v1/accounts')
@UseGuards(AdminAuthGuard)
export class AccountsController {
  constructor(private readonly tokens: TokenService) {}

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
  ): Promise<TokenResponse & { outcome: string }> {
    const { token, outcome } = await this.tokens.reportInvalidWithOutcome(appId, body.access_token);
    return { ...tokenResponse(token), outcome };
  }

  /** Operator's forced refresh; spends the daily force budget (429 when spent or too soon). */
  @Post(':appId/token/refresh')
  @HttpCode(200)
  async refresh(@Param('appId') appId: string): Promise<TokenResponse> {
    return tokenResponse(await this.tokens.forceRefresh(appId));
  }
}
