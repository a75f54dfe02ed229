import { Injectable, Logger, type OnModuleInit, type ArgumentsHost } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainErrorFilter } from '../common/domain-error.filter';
import { TokenService } from '../token/token.service';
import { AdminAuthenticator } from './admin-authenticator';
import { tokenResponse } from './token-response';

/** The route served here; the Nest controller declares it too (documentation, and any app without this hook). */
const TOKEN_ROUTE = '/api/v1/accounts/:appId/token';

/**
 * `GET /api/v1/accounts/:appId/token` answered from Fastify's `onRequest` hook, once the router has matched it:
 * the hot path of every client skips Nest's guards, pipes and interceptors (a third of its CPU per request). It does
 * what the controller route does — the admin key check (allow-list, failed-auth limit, key) and the token from
 * TokenService — and answers errors through the same DomainErrorFilter, so both paths answer alike.
 */
@Injectable()
export class TokenReadFastPath implements OnModuleInit {
  private readonly logger = new Logger(TokenReadFastPath.name);
  private readonly errors = new DomainErrorFilter();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: AdminAuthenticator,
    private readonly tokens: TokenService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof fastify?.addHook !== 'function') {
      this.logger.debug('not on Fastify: the token route is served by its controller');
      return;
    }
    fastify.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'GET' || request.routeOptions.url !== TOKEN_ROUTE) return undefined;
      await this.answer(request, reply);
      // an async hook that answered returns the reply: Fastify then runs no handler
      return reply;
    });
  }

  private async answer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      this.authenticator.authenticate(request.ip, request.headers.authorization);
      const { appId } = request.params as { appId: string };
      const token = await this.tokens.getToken(appId);
      await reply.send(tokenResponse(token));
    } catch (error) {
      const host = {
        switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
      } as unknown as ArgumentsHost;
      this.errors.catch(error, host);
    }
  }
}
