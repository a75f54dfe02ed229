import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadRequestException, UnauthorizedException } from '@nestjs/common';
import { BodyTooLargeError } from '../api/gateway/errors/body-too-large.error';
import { UpstreamFailureError } from '../api/gateway/errors/upstream-failure.error';
import { AccountNotFoundError } from '../token/errors/account-not-found.error';
import { ForceRefreshRefusedError } from '../token/errors/force-refresh-refused.error';
import { TokenUnavailableError } from '../token/errors/token-unavailable.error';
import { CallbackNotConfiguredError } from '../wechat-callback/errors/callback-not-configured.error';
import { DecryptError } from '../wechat-callback/errors/decrypt.error';
import { InvalidSignatureError } from '../wechat-callback/errors/invalid-signature.error';
import { MalformedXmlError } from '../wechat-callback/errors/malformed-xml.error';
import { StaleTimestampError } from '../wechat-callback/errors/stale-timestamp.error';
import { errorAnswer, errorBody, wechatErrorAnswer } from './http-status';

describe('errorAnswer: errors to {statusCode, error, message}', () => {
  it.each([
    [new InvalidSignatureError('signature'), 401],
    [new StaleTimestampError(900), 401],
    [new MalformedXmlError('unclosed tag'), 400],
    [new DecryptError('padding'), 400],
    [new CallbackNotConfiguredError('wx1'), 404],
    [new AccountNotFoundError('wx1'), 404],
    [new BodyTooLargeError(10), 413],
    [new UpstreamFailureError('timeout', 'WeChat did not answer within 5000 ms'), 504],
    [new UpstreamFailureError('unreachable', 'cannot reach WeChat'), 502],
    [new UpstreamFailureError('bad-status', 'WeChat answered HTTP 503', 503), 502],
  ])('%s answers %i with its own message', (error, status) => {
    expect(errorAnswer(error)).toEqual({ status, message: error.message });
  });

  it('sends Retry-After for refusals that pass', () => {
    expect(errorAnswer(new ForceRefreshRefusedError('wx1', 'spacing', 12_000))).toMatchObject({
      status: 429,
      retryAfterMs: 12_000,
    });
    expect(errorAnswer(new TokenUnavailableError('wx1', 'WeChat is busy', -1, 3_000))).toMatchObject({
      status: 503,
      retryAfterMs: 3_000,
    });
  });

  it("keeps a framework error's status and leaves a fault undefined (answered 500)", () => {
    expect(errorAnswer(new UnauthorizedException('missing key'))).toEqual({
      status: 401,
      message: 'missing key',
    });
    expect(errorAnswer(Object.assign(new Error('body too large'), { statusCode: 413 }))).toEqual({
      status: 413,
      message: 'body too large',
    });
    expect(errorAnswer(new Error('boom'))).toBeUndefined();
    expect(errorAnswer(new TypeError('x is undefined'))).toBeUndefined();
  });

  it('names each status', () => {
    expect(errorBody(405, 'no')).toEqual({ statusCode: 405, error: 'Method Not Allowed', message: 'no' });
    expect(errorBody(504, 'slow')).toEqual({ statusCode: 504, error: 'Gateway Timeout', message: 'slow' });
  });
});

describe('wechatErrorAnswer: errors to {errcode, errmsg}', () => {
  it("uses an error's own WeChat code", () => {
    expect(wechatErrorAnswer(new AccountNotFoundError('wx1'))).toEqual({
      status: 200,
      errcode: 40001,
      errmsg: 'invalid credential, access_token is invalid or not latest',
    });
    expect(wechatErrorAnswer(new BodyTooLargeError(10))).toEqual({
      status: 413,
      errcode: 40006,
      errmsg: 'invalid media size: the request body exceeds 10 bytes',
    });
  });

  it('derives the rest from the HTTP status: 404 not served, 4xx data format error, else system error', () => {
    expect(wechatErrorAnswer(Object.assign(new Error('no route'), { statusCode: 404 }))).toEqual({
      status: 404,
      errcode: -1,
      errmsg: 'this path is not served by wxhub',
    });
    expect(wechatErrorAnswer(new BadRequestException('bad json'))).toEqual({
      status: 200,
      errcode: 47001,
      errmsg: 'data format error',
    });
    for (const error of [
      new TokenUnavailableError('wx1', 'down'),
      new UpstreamFailureError('timeout', 'slow'),
      new Error('boom'),
    ]) {
      expect(wechatErrorAnswer(error)).toEqual({ status: 200, errcode: -1, errmsg: 'system error' });
    }
  });
});

describe('the shared error edge', () => {
  it('imports no feature: the errors say their own status', () => {
    for (const file of ['http-status.ts', 'domain-error.ts', 'error-reply.ts', 'domain-error.filter.ts']) {
      const source = readFileSync(join(__dirname, file), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
      expect({ file, outside: imports.filter((path) => path?.startsWith('..')) }).toEqual({
        file,
        outside: [],
      });
    }
  });
});
