import type { Socket } from 'node:net';
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
import {
  errorAnswer,
  wechatErrorAnswer,
  type ErrorAnswer,
  type WechatErrorAnswer,
} from '../../common/http-status';
import { INVALID_CREDENTIAL_ERRMSG } from '../../wechat-transport/wechat-errcodes';
import { BodyTooLargeError } from './errors/body-too-large.error';
import { GATEWAY_PATH_PREFIXES } from './gateway.constants';
import { ServedTokenIndex } from './served-token-index';
import { discardBody, prepareBody } from './request-body';
import { WechatForwarder, type ForwardAnswer, type ForwardCall } from './wechat-forwarder';
import {
  gatewayRefusal,
  isPlainPath,
  isTokenPath,
  parseTarget,
  splitUrl,
  type WechatTarget,
} from './wechat-target';

const GATEWAY_PREFIX = '/gateway/';
/**
 * HEAD is not forwarded: WeChat has no HEAD, and answering it with an upstream GET would run GET endpoints that
 * change state (a ticket fetch, a quota use) for a caller expecting no effect.
 */
const FORWARDED_METHODS = new Set(['GET', 'POST']);
/** How long a refused connection stays half-open so that its client can read the answer. */
const REFUSAL_LINGER_MS = 1000;
const NOT_SERVED = { status: HttpStatus.NOT_FOUND, errcode: -1, errmsg: 'this path is not served by wxhub' };

/** A caller admitted before its body is read: where the call goes and who makes it. */
interface Admission {
  appId: string;
  target: WechatTarget;
  actor: AuditActor;
}
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
  /** What the onRequest admission decided, for the handler of the same request. */
  private readonly admitted = new WeakMap<FastifyRequest, Admission>();

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
      // NOTE: the caller is admitted in onRequest, before a byte of the body is read: a refused upload is answered
      // at once and its connection closed instead of being read to the end
      scope.all(
        `${mount}/gateway/:appId/*`,
        { exposeHeadRoute: false, onRequest: (request, reply) => this.admitGateway(request, reply) },
        (request, reply) => this.gateway(request, reply),
      );
      // every API family an SDK pointed at the hub calls with the basic token (its base URL now being the hub)
      for (const prefix of GATEWAY_PATH_PREFIXES) {
        scope.route({
          // HEAD is routed only to be refused: Fastify would otherwise answer it by running the GET handler
          method: ['GET', 'POST', 'HEAD'],
          url: `${mount}${prefix}*`,
          exposeHeadRoute: false,
          onRequest: (request, reply) => this.admitPassThrough(request, reply),
          handler: (request, reply) => this.passThrough(request, reply),
        });
      }
    });
  }

  /** Authenticates a gateway call and checks its target, answering (and closing) a refusal before the body. */
  private async admitGateway(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
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
      if (!this.accounts.get(appId))
        return refuse(reply, { status: 404, message: `unknown account ${appId}` });
      const [path, query] = splitUrl((request.raw.url ?? '').slice(this.prefix.length));
      const wechatPath = path.slice(path.indexOf('/', GATEWAY_PREFIX.length));
      const refusal = gatewayRefusal(wechatPath);
      if (refusal) return refuse(reply, { status: 400, message: refusal });
      if (!FORWARDED_METHODS.has(request.method)) {
        void reply.header('allow', 'GET, POST');
        return refuse(reply, {
          status: 405,
          message: `the gateway forwards GET and POST, not ${request.method}`,
        });
      }
      this.admitted.set(request, { appId, target: parseTarget(wechatPath, query), actor });
    } catch (error) {
      return refuse(reply, this.answerOf('gateway', error) ?? { status: 500, message: 'internal error' });
    }
  }

  /** Checks a pass-through call's path and served token, answering (and closing) a refusal before the body. */
  private async admitPassThrough(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    try {
      if (request.method === 'HEAD') {
        void reply.header('allow', 'GET, POST');
        return refuseWechat(reply, {
          status: 405,
          errcode: -1,
          errmsg: 'HEAD is not served: use GET or POST',
        });
      }
      const [path, query] = splitUrl((request.raw.url ?? '').slice(this.prefix.length));
      if (!isPlainPath(path)) return refuseWechat(reply, NOT_SERVED);
      if (isTokenPath(path)) {
        // the drop-ins own the exact token paths; any spelling WeChat could route to them stays closed here
        return request.method === 'POST' && path === '/cgi-bin/token'
          ? refuseWechat(reply, { status: HttpStatus.OK, errcode: 43001, errmsg: 'require GET method' })
          : refuseWechat(reply, NOT_SERVED);
      }
      const target = parseTarget(path, query);
      if (target.accessToken === undefined)
        return refuseWechat(reply, { status: HttpStatus.OK, errcode: 41001, errmsg: 'access_token missing' });
      // the hub is no open proxy: only a token it handed out opens the way, and no upstream call is made otherwise
      const appId = await this.servedTokens.appIdOf(target.accessToken);
      if (appId === undefined)
        return refuseWechat(reply, {
          status: HttpStatus.OK,
          errcode: 40001,
          errmsg: INVALID_CREDENTIAL_ERRMSG,
        });
      this.admitted.set(request, { appId, target, actor: { id: 'sdk', ip: request.ip } });
    } catch (error) {
      this.answerOf('pass-through', error);
      return refuseWechat(reply, wechatErrorAnswer(error));
    }
  }

  private async gateway(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const { appId, target, actor } = this.admission(request);
      return sendAnswer(reply, await this.forward(request, appId, target, actor));
    } catch (error) {
      if (error instanceof BodyTooLargeError) await this.discardRefusedBody(request, reply);
      return this.sendGatewayError(reply, error);
    }
  }

  private async passThrough(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const { appId, target, actor } = this.admission(request);
      return sendAnswer(reply, await this.forward(request, appId, target, actor));
    } catch (error) {
      if (error instanceof BodyTooLargeError) await this.discardRefusedBody(request, reply);
      return this.sendPassThroughError(reply, error);
    }
  }

  private admission(request: FastifyRequest): Admission {
    const admission = this.admitted.get(request);
    // NOTE: a host's hook cannot skip the route's own onRequest, so this is a programming error, never a caller's
    if (!admission) throw new Error('a gateway request reached its handler without being admitted');
    return admission;
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
  private async discardRefusedBody(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    if (declared <= 4 * this.forwarder.limits.maxBytes) await discardBody(request.raw, DISCARD_TIMEOUT_MS);
    // the rest is not read: the answer closes the connection instead of letting Node drain it
    if (!request.raw.readableEnded) closeIfBodyPending(reply);
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
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/**
 * Answers a refused call before its body is read. A body still on its way is not drained (it may be hundreds of
 * megabytes from someone without a key): the answer says `Connection: close` and the socket is closed after it.
 */
function refuse(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  closeIfBodyPending(reply);
  return sendErrorAnswer(reply, answer);
}

/** refuse() with WeChat's `{errcode, errmsg}`, as SDKs on the pass-through expect. */
function refuseWechat(reply: FastifyReply, answer: WechatErrorAnswer): FastifyReply {
  closeIfBodyPending(reply);
  return sendWechatErrorAnswer(reply, answer);
}

function closeIfBodyPending(reply: FastifyReply): void {
  const headers = reply.request.headers;
  const length = headers['content-length'];
  if (headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return;
  void reply.header('connection', 'close');
  lingerInsteadOfReset(reply.request.raw.socket);
}

/**
 * After a `Connection: close` answer Node closes the socket at once; with body bytes still unread the kernel then
 * sends a reset, which makes the client drop the answer it has not read yet. Instead the socket stops reading
 * (the unread rest stays in the kernel's buffers, a few MB at most), sends its FIN, and is destroyed after
 * REFUSAL_LINGER_MS: long enough for the client to read the answer, short enough to hold nothing.
 */
function lingerInsteadOfReset(socket: Socket): void {
  const closable = socket as Socket & { _handle?: { readStop?: () => number } | null };
  socket.destroySoon = function destroyAfterLinger(this: Socket): void {
    closable._handle?.readStop?.();
    if (this.writable) this.end();
    setTimeout(() => this.destroy(), REFUSAL_LINGER_MS).unref();
  };
}
