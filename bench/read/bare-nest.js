#!/usr/bin/env node
'use strict';
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The framework floor of the hub's token route: a minimal NestJS 11 + Fastify app (no wxhub module) with the same
 * route shape as AccountsController.token: a controller-level guard doing the hub's key check (Bearer regex,
 * SHA-256, timingSafeEqual), `@Param('appId')` through a global ValidationPipe with the hub's settings, and the
 * same JSON from a constant. What any Nest service answering this route pays before doing any token work.
 * Env: PORT, KEY, TOKEN, EXPIRES_AT (ms), VERSION.
 */
require('reflect-metadata');
const { hash, timingSafeEqual } = require('node:crypto');
const {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  UnauthorizedException,
  UseGuards,
  ValidationPipe,
} = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');

const key = hash('sha256', process.env.KEY, 'buffer');
const token = process.env.TOKEN;
const expiresAt = new Date(Number(process.env.EXPIRES_AT));
const version = Number(process.env.VERSION);

class KeyGuard {
  canActivate(context) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(
      context.switchToHttp().getRequest().headers.authorization ?? '',
    );
    if (!match?.[1] || !timingSafeEqual(key, hash('sha256', match[1], 'buffer')))
      throw new UnauthorizedException('invalid API key');
    return true;
  }
}
Injectable()(KeyGuard);

class TokenController {
  token(appId) {
    return {
      access_token: appId ? token : '',
      expires_in: Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000)),
      expires_at: expiresAt.toISOString(),
      version,
    };
  }
}
// what TypeScript's decorator emit does for `@Get(':appId/token') token(@Param('appId') appId: string)`
Reflect.defineMetadata('design:paramtypes', [String], TokenController.prototype, 'token');
Param('appId')(TokenController.prototype, 'token', 0);
Get(':appId/token')(
  TokenController.prototype,
  'token',
  Object.getOwnPropertyDescriptor(TokenController.prototype, 'token'),
);
UseGuards(KeyGuard)(TokenController);
Controller('api/v1/accounts')(TokenController);

class BenchModule {}
Module({ controllers: [TokenController] })(BenchModule);

async function main() {
  const app = await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: ['error'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
