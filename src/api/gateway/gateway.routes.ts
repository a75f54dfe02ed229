import type { Readable } from 'node:stream';
import { HttpStatus, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccountRegistry } from '../../accounts/account-registry';
import { AdminAuthenticator } from '../../admin/admin-authenticator';
import type { AuditActor } from '../../audit/audit-entry';
import { setRequestActor } from '../../audit/request-actor';
import { assertAuthorized } from '../../clients/principal';
import { AuditLog } from '../../audit/audit-log.service';
import { ridOf } from '../../audit/token-audit';
import { sendErrorAnswer, sendWechatErrorAnswer } from '../../common/error-reply';
import { errorAnswer, wechatErrorAnswer } from '../../common/http-status';
import { INVALID_CREDENTIAL_ERRMSG } from '../../wechat-transport/wechat-errcodes';
import { BodyTooLargeError } from './errors/body-too-large.error';
import { GATEWAY_PATH_PREFIXES } from './gateway.constants';
import { ServedTokenIndex } from './served-token-index';
import { discardBody, prepareBody } from './request-body';
import { WechatForwarder, type ForwardAnswer, type ForwardCall } from './wechat-forwarder';
import { gatewayRefusal, isPlainPath, parseTarget, splitUrl, type WechatTarget } from './wechat-target';

const GATEWAY_PREFIX = '/gateway/';
/** HEAD is answered as GET without the body (Fastify drops it). */
const FORWARDED_METHODS = new Set(['GET', 'POST', 'HEAD']);
const DISCARD_TIMEOUT_MS = 10_000;
/** Quota resets (10 a month per account) are audited whichever way they come. */
const CLEAR_QUOTA_PATHS: ReadonlyMap<string, string> = new Map([
  ['/cgi-bin/clear_quota', 'v1'],
  ['/cgi-bin/clear_quota/v2', 'v2'],
]);

/**
 * The HTTP gateway's two routes, registered straight on Fastify in their own scope, whose only body parser
 * hands the request stream through untouched (the service's 64 KB body limit and parsers stay outside it):
 *
 * - `ALL /gateway/:appId/<wechat path>` (GET and POST forwarded, others 405): API key as for the admin API; the
 *   hub's token is injected.
 * - `GET|POST /cgi-bin/*` and the other API families of GATEWAY_PATH_PREFIXES (`/datacube/`, `/customservice/`…;
 *   the token drop-ins are Nest routes and win, being static): for SDKs pointed at the hub, authenticated by an
 *   access_token the hub handed out, which is swapped for the account's current one.
 *
 * NOTE: not Nest controllers: a Nest route cannot get its own content-type parser, and the global ones would
 * buffer the body (media uploads) under the global limit.
 */
@Injectable()
export class GatewayRoutes implements OnModuleInit {
  private readonly logger = new Logger(GatewayRoutes.name);
  /** The global prefix the routes are mounted under ('' for none). */
  private prefix = '';

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly appConfig: ApplicationConfig,
    private readonly authenticator: AdminAuthenticator,
    private readonly accounts: AccountRegistry,
    private readonly forwarder: WechatForwarder,
    private readonly servedTokens: ServedTokenIndex,
    @Optional() private readonly audit?: AuditLog,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof fastify?.register !== 'function') {
      this.logger.warn(
        'the HTTP gateway needs the Fastify adapter; /gateway and the /cgi-bin pass-through are off',
      );
      return;
    }
    // under the application's global prefix, like the Nest routes (a host app may mount the service under one)
    const mount = this.appConfig.getGlobalPrefix().replace(/^\/*/, '/').replace(/\/+$/, '');
    this.prefix = mount;
    void fastify.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
      // every method, as the contract says ALL; WeChat's API only knows GET and POST, the rest is answered 405
      scope.all(`${mount}/gateway/:appId/*`, (request, reply) => this.gateway(request, reply));
      // every API family an SDK pointed at the hub calls with the basic token (its base URL now being the hub)
      for (const prefix of GATEWAY_PATH_PREFIXES) {
        scope.route({
          method: ['GET', 'POST'],
          url: `${mount}${prefix}*`,
          handler: (request, reply) => this.passThrough(request, reply),
        });
      }
    });
  }

  private async gateway(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const principal = this.authenticator.authenticate(
        request.ip,
        request.headers.authorization,
        'the gateway',
      );
      const actor: AuditActor = { id: `gateway:${principal.actorId}`, ip: request.ip };
      setRequestActor(request, actor, principal);
      const { appId } = request.params as { appId: string };
      // before the account lookup: a client refused an account learns nothing of whether it exists
      assertAuthorized(principal, 'gateway', appId);
      if (!this.accounts.get(appId)) return sendError(reply, 404, `unknown account ${appId}`);
      const [path, query] = splitUrl((request.raw.url ?? '').slice(this.prefix.length));
      const wechatPath = path.slice(path.indexOf('/', GATEWAY_PREFIX.length));
      const refusal = gatewayRefusal(wechatPath);
      if (refusal) return sendError(reply, 400, refusal);
      if (!FORWARDED_METHODS.has(request.method)) {
        void reply.header('allow', 'GET, POST');
        return sendError(reply, 405, `WeChat's API takes GET and POST, not ${request.method}`);
      }
      const answer = await this.forward(request, appId, parseTarget(wechatPath, query), actor);
      return sendAnswer(reply, answer);
    } catch (error) {
      if (error instanceof BodyTooLargeError) await this.discardRefusedBody(request);
      return this.sendGatewayError(reply, error);
    }
  }

  private async passThrough(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const [path, query] = splitUrl((request.raw.url ?? '').slice(this.prefix.length));
      if (path === '/cgi-bin/token') return sendWechat(reply, 43001, 'require GET method');
      if (!isPlainPath(path)) return sendWechat(reply, -1, 'this path is not served by wxhub', 404);
      const target = parseTarget(path, query);
      if (target.accessToken === undefined) return sendWechat(reply, 41001, 'access_token missing');
      // the hub is no open proxy: only a token it handed out opens the way, and no upstream call is made otherwise
      const appId = await this.servedTokens.appIdOf(target.accessToken);
      if (appId === undefined) return sendWechat(reply, 40001, INVALID_CREDENTIAL_ERRMSG);
      return sendAnswer(reply, await this.forward(request, appId, target, { id: 'sdk', ip: request.ip }));
    } catch (error) {
      if (error instanceof BodyTooLargeError) await this.discardRefusedBody(request);
      return this.sendPassThroughError(reply, error);
    }
  }

  private async forward(
    request: FastifyRequest,
    appId: string,
    target: WechatTarget,
    actor: AuditActor,
  ): Promise<ForwardAnswer> {
    const variant = CLEAR_QUOTA_PATHS.get(target.path);
    if (variant === undefined || !this.audit) return this.forwardCall(request, appId, target, actor);
    const details = { variant, via: 'gateway' };
    let answer: ForwardAnswer;
    try {
      answer = await this.forwardCall(request, appId, target, actor);
    } catch (error) {
      void this.audit.record({
        action: 'quota.clear',
        appId,
        actor,
        result: 'failed',
        reason: (error as Error).message,
        details,
      });
      throw error;
    }
    const { errcode, errmsg } = wechatAnswerOf(answer.body);
    void this.audit.record({
      action: 'quota.clear',
      appId,
      actor,
      result: errcode === 0 || (errcode === undefined && answer.status < 400) ? 'ok' : 'failed',
      reason: errcode ? errmsg?.replace(/\s*,?\s*rid:.*$/, '') : undefined,
      errcode: errcode || undefined,
      rid: ridOf(errmsg),
      details,
    });
    return answer;
  }

  private async forwardCall(
    request: FastifyRequest,
    appId: string,
    target: WechatTarget,
    actor: AuditActor,
  ): Promise<ForwardAnswer> {
    const length = request.headers['content-length'];
    const call: ForwardCall = {
      appId,
      method: request.method === 'POST' ? 'POST' : 'GET',
      target,
      contentType: request.headers['content-type'],
      accept: request.headers.accept,
      userAgent: request.headers['user-agent'],
      body: await prepareBody(
        request.body as Readable | undefined,
        length === undefined ? undefined : Number(length),
        this.forwarder.limits,
      ),
      actor,
    };
    return this.forwarder.forward(call);
  }

  /** Up to 4× the body limit (declared) is read away, within 10 s; anything else gets the answer and a close. */
  private async discardRefusedBody(request: FastifyRequest): Promise<void> {
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    if (!(declared <= 4 * this.forwarder.limits.maxBytes)) return;
    await discardBody(request.raw, DISCARD_TIMEOUT_MS);
  }

  private sendGatewayError(reply: FastifyReply, error: unknown): FastifyReply {
    const answer = this.answerOf('gateway', error);
    return sendErrorAnswer(reply, answer ?? { status: 500, message: 'internal error' });
  }

  /** WeChat-shaped, as SDKs expect: HTTP 200 with `-1 system error` when WeChat or the token plane fails. */
  private sendPassThroughError(reply: FastifyReply, error: unknown): FastifyReply {
    this.answerOf('pass-through', error);
    return sendWechatErrorAnswer(reply, wechatErrorAnswer(error));
  }

  /** The JSON answer to `error`, logged when it is a failure of WeChat or the token plane, or a fault. */
  private answerOf(route: string, error: unknown): ReturnType<typeof errorAnswer> {
    const answer = errorAnswer(error);
    if (!answer) this.logger.error(`${route}: unexpected error: ${(error as Error)?.stack ?? String(error)}`);
    else if (answer.status >= 500) this.logger.warn(`${route}: ${answer.message}`);
    return answer;
  }
}

/** WeChat's `{errcode, errmsg}` in an inspected (buffered JSON) answer. */
function wechatAnswerOf(body: Buffer | Readable): { errcode?: number; errmsg?: string } {
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errcode?: unknown; errmsg?: unknown } | null;
    return {
      errcode: typeof parsed?.errcode === 'number' ? parsed.errcode : undefined,
      errmsg: typeof parsed?.errmsg === 'string' ? parsed.errmsg : undefined,
    };
  } catch {
    return {};
  }
}

function sendAnswer(reply: FastifyReply, answer: ForwardAnswer): FastifyReply {
  void reply.code(answer.status).headers(answer.headers);
  if (reply.request.method === 'HEAD' && !Buffer.isBuffer(answer.body)) {
    // no body goes out for HEAD: stop WeChat's download instead of reading it all to discard it
    answer.body.destroy();
    return reply.send();
  }
  return reply.send(answer.body);
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return sendErrorAnswer(reply, { status, message });
}

function sendWechat(
  reply: FastifyReply,
  errcode: number,
  errmsg: string,
  status: number = HttpStatus.OK,
): FastifyReply {
  return sendWechatErrorAnswer(reply, { status, errcode, errmsg });
}
