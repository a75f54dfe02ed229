import {
  applyDecorators,
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Param,
  Post,
  Res,
  UseGuards,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { NO_STORE_ROUTE } from '../common/no-store';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { accountKind, type AccountKind } from '../accounts/account-config';
import { AccountRegistry } from '../accounts/account-registry';
import { WechatApiError } from '../api/errors/wechat-api.error';
import type { MiniProgramSession } from '../api/areas/mini-program';
import { WechatApiClient } from '../api/wechat-api-client';
import { WechatOAuth, type WebAccessToken } from '../api/wechat-oauth';
import { STATUS_NAMES } from '../common/http-status';
import { ADMIN_AUTH_ERRORS, ApiErrorResponses } from '../docs/api-error-responses.decorator';
import { ADMIN_KEY_SCHEME } from '../docs/openapi.constants';
import { CONFIGURATION_ERRCODES } from '../wechat-transport/wechat-errcodes';
import { AdminAuthGuard } from './admin-auth.guard';
import { RequireScope } from './require-scope.decorator';
import {
  Code2SessionRequestDto,
  Code2SessionResponseDto,
  ExchangeErrorDto,
  OAuthCodeRequestDto,
  WebAccessTokenDto,
} from './exchange.dto';

/** Who may call the exchange routes: the one place to narrow it (e.g. to a client scope). */
const ExchangeAccess = (): ClassDecorator =>
  applyDecorators(
    UseGuards(AdminAuthGuard),
    RequireScope('exchange'),
    ApiBearerAuth(ADMIN_KEY_SCHEME),
    ApiErrorResponses(ADMIN_AUTH_ERRORS),
  );

const APP_ID_PARAM = ApiParam({
  name: 'appId',
  type: String,
  description: 'A configured AppID.',
  example: 'wxAPPID',
});

const WECHAT_REFUSALS = ApiResponse({
  status: 400,
  description:
    'A malformed body, an account of the other kind, or WeChat refused the code (40029 invalid, 40163 used).',
  type: ExchangeErrorDto,
});
const EXCHANGE_ERRORS = [
  ApiResponse({ status: 404, description: 'Unknown account (appId).', type: ExchangeErrorDto }),
  ApiResponse({
    status: 502,
    description: "WeChat refused the account's settings (AppSecret, AppID, IP whitelist).",
    type: ExchangeErrorDto,
  }),
  ApiResponse({
    status: 503,
    description: 'WeChat is busy (-1) or unreachable; retry.',
    type: ExchangeErrorDto,
  }),
];

/**
 * Secret custody: the code exchanges that need the AppSecret, done by the hub so that no service holds it.
 * `session_key`, codes and user tokens pass through: never logged, stored, or put in metrics. WeChat's refusals keep
 * their `errcode` in the answer (40029 / 40163 → 400, 40226 → 403, 45011 → 429, -1 → 503).
 */
@Controller('api/v1/accounts')
@ExchangeAccess()
@ApiTags('exchange')
export class ExchangeController {
  constructor(
    private readonly client: WechatApiClient,
    private readonly oauth: WechatOAuth,
    private readonly accounts: AccountRegistry,
  ) {}

  /** Mini Program login: `wx.login()`'s code → `{openid, session_key, unionid?}` (WeChat's `jscode2session`). */
  @Post(':appId/code2session')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @HttpCode(200)
  @ApiOperation({
    summary: "Trade a Mini Program login code for the user's session",
    description:
      "Calls WeChat's `jscode2session` with the AppSecret the hub keeps. The answer holds `session_key`, a user " +
      'secret: it is not stored or logged by the hub. `Cache-Control: no-store`.',
  })
  @APP_ID_PARAM
  @ApiBody({ type: Code2SessionRequestDto })
  @ApiOkResponse({ type: Code2SessionResponseDto, description: "WeChat's answer." })
  @WECHAT_REFUSALS
  @ApiResponse({ status: 403, description: 'WeChat deems the user risky (40226).', type: ExchangeErrorDto })
  @ApiResponse({
    status: 429,
    description: 'Too many logins of this user (45011: 100 a minute).',
    type: ExchangeErrorDto,
  })
  @applyDecorators(...EXCHANGE_ERRORS)
  async code2Session(
    @Param('appId') appId: string,
    @Body() body: Code2SessionRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MiniProgramSession | ExchangeErrorDto> {
    this.requireKind(appId, 'miniProgram', 'code2session');
    try {
      return await this.client.miniProgram.code2Session(appId, body.js_code);
    } catch (error) {
      return refusal(error, reply);
    }
  }

  /** Web authorization (网页授权) of an Official Account: the redirect's code → the user's web token. */
  @Post(':appId/oauth/access-token')
  @RouteConfig({ [NO_STORE_ROUTE]: true })
  @HttpCode(200)
  @ApiOperation({
    summary: "Trade an OAuth code for the user's web access token",
    description:
      "Calls WeChat's `/sns/oauth2/access_token` with the AppSecret the hub keeps and answers WeChat's answer. " +
      'The web token is per user: the hub does not store or log it. `Cache-Control: no-store`.',
  })
  @APP_ID_PARAM
  @ApiBody({ type: OAuthCodeRequestDto })
  @ApiOkResponse({ type: WebAccessTokenDto, description: "WeChat's answer." })
  @WECHAT_REFUSALS
  @ApiResponse({
    status: 403,
    description: 'The account may not use web authorization (48001).',
    type: ExchangeErrorDto,
  })
  @ApiResponse({ status: 429, description: 'WeChat says too frequent (45011).', type: ExchangeErrorDto })
  @applyDecorators(...EXCHANGE_ERRORS)
  async oauthAccessToken(
    @Param('appId') appId: string,
    @Body() body: OAuthCodeRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebAccessToken | ExchangeErrorDto> {
    this.requireKind(appId, 'officialAccount', 'OAuth web authorization');
    try {
      return await this.oauth.exchangeCode(appId, body.code);
    } catch (error) {
      return refusal(error, reply);
    }
  }

  /** 404 for an unknown account (AccountNotFoundError), 400 for one of the other kind. */
  private requireKind(appId: string, kind: AccountKind, what: string): void {
    const actual = accountKind(this.accounts.getOrThrow(appId));
    if (actual === kind) return;
    throw new BadRequestException(
      kind === 'miniProgram'
        ? `${appId} is an Official Account: ${what} is for Mini Programs (set kind: miniProgram on the account)`
        : `${appId} is a Mini Program: ${what} is for Official Accounts (Mini Programs log in with code2session)`,
    );
  }
}

/** WeChat's refusal as our error JSON with its errcode kept; anything else is rethrown to the error filter. */
function refusal(error: unknown, reply: FastifyReply): ExchangeErrorDto {
  if (!(error instanceof WechatApiError)) throw error;
  const { errcode, errmsg, rid } = error;
  const status = statusOf(errcode);
  if (status === 429) reply.header('retry-after', '60');
  if (status === 503) reply.header('retry-after', '1');
  reply.code(status);
  const cause = CONFIGURATION_ERRCODES.get(errcode);
  return {
    statusCode: status,
    error: STATUS_NAMES[status] ?? 'Error',
    message: cause
      ? `WeChat refused the account's settings: ${cause} (errcode ${errcode})`
      : status === 503
        ? `WeChat is busy or unreachable (errcode ${errcode}); retry`
        : `WeChat refused the exchange (errcode ${errcode}: ${errmsg})`,
    errcode,
    errmsg,
    ...(rid !== undefined ? { rid } : {}),
  };
}

function statusOf(errcode: number): number {
  switch (errcode) {
    case 40029: // invalid code
    case 40163: // code already used
    case 41008: // code missing
      return 400;
    case 40226: // risky user
    case 48001: // api unauthorized
      return 403;
    case 45011: // too frequent
      return 429;
    case -1: // busy, or no answer at all
      return 503;
    default:
      return 502;
  }
}
