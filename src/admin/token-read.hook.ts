import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { setRequestActor } from '../audit/request-actor';
import { authorize } from '../clients/principal';
import { mayAnswerBeforeRoute, type RouteOnRequest } from '../common/route-hooks';
import { TokenService, type AccessToken } from '../token/token.service';
import { AdminAuthenticator } from './admin-authenticator';
import { secondsLeft, tokenResponse } from './token-response';

const JSON_TYPE = 'application/json; charset=utf-8';

/** The JSON last answered for an account, reused while the token and its `expires_in` are the same. */
interface AnsweredBody {
  token: AccessToken;
  expiresIn: number;
  text: string;
}

/**
 * The route-level onRequest hook of `GET /api/v1/accounts/:appId/token` (ROUTE_ON_REQUEST), the hot path of every
 * client. It runs after every global onRequest hook and answers the common case itself, synchronously:
 *
 * - a known key (AdminAuthenticator.recognise: allow-list, failed-auth block, timing-safe resolution) whose
 *   principal has `read` on the account (the same decision as the guard's RequireScope), and the token in the
 *   in-process copy (TokenService.cachedToken);
 * - the JSON is reused while the token and its `expires_in` stay the same.
 *
 * No promise, no guard, no async logging context (see registerRequestLogging). Anything else — a key not seen
 * yet, any refusal, a token that must be read from the store or refreshed — goes on to the controller route
 * (AdminAuthGuard, TokenService.getToken, DomainErrorFilter), which answers exactly the same JSON. So does every
 * read once the application has a global guard or interceptor (a host app's): those must see every request.
 */
@Injectable()
export class TokenReadHook implements RouteOnRequest, OnApplicationBootstrap {
  private readonly answered = new Map<string, AnsweredBody>();
  private answersFromMemory = true;

  constructor(
    private readonly authenticator: AdminAuthenticator,
    private readonly tokens: TokenService,
    private readonly appConfig: ApplicationConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.answersFromMemory = mayAnswerBeforeRoute(this.appConfig);
  }

  onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (!this.answersFromMemory) return done();
    const principal = this.authenticator.recognise(request.ip, request.headers.authorization);
    if (principal === undefined) return done();
    const appId = (request.params as { appId: string }).appId;
    // a refusal (403) is the guard's to answer and log
    if (!authorize(principal, 'read', appId).allowed) return done();
    const token = this.tokens.cachedToken(appId);
    if (token === undefined) {
      this.answered.delete(appId);
      return done();
    }
    request.wxhubReader = principal.actorId;
    setRequestActor(request, { id: principal.actorId, ip: request.ip }, principal);
    void reply.type(JSON_TYPE).send(this.bodyFor(appId, token).text);
  }

  private bodyFor(appId: string, token: AccessToken): AnsweredBody {
    const expiresIn = secondsLeft(token);
    const last = this.answered.get(appId);
    if (last !== undefined && last.token === token && last.expiresIn === expiresIn) return last;
    const body = { token, expiresIn, text: JSON.stringify(tokenResponse(token, expiresIn)) };
    this.answered.set(appId, body);
    return body;
  }
}
