import { Readable } from 'node:stream';
import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { MetricsService } from '../../metrics/metrics.service';
import type { Dispatcher } from 'undici';
import type { AuditActor } from '../../audit/audit-entry';
import { TokenService, type AccessToken } from '../../token/token.service';
import { withTokenRetry } from '../../wechat-transport/token-retry';
import { toTransportError } from '../../wechat-transport/transport-failure';
import { WechatTransport, type TransportRequest } from '../../wechat-transport/wechat-transport';
import { BodyTooLargeError } from './errors/body-too-large.error';
import { UpstreamFailureError } from './errors/upstream-failure.error';
import { InjectGatewayModuleOptions } from './gateway.constants';
import {
  resolveGatewayOptions,
  type GatewayModuleOptions,
  type ResolvedGatewayOptions,
} from './gateway-options';
import type { PreparedBody } from './request-body';
import type { WechatTarget } from './wechat-target';

/** One call to forward for an account. */
export interface ForwardCall {
  appId: string;
  method: 'GET' | 'POST';
  target: WechatTarget;
  /** The client's Content-Type, Accept and User-Agent (nothing else of the client's headers is forwarded). */
  contentType: string | undefined;
  accept: string | undefined;
  userAgent: string | undefined;
  body: PreparedBody;
  /** Who the call is made for, named in the audit log when its token has to be repaired. */
  actor?: AuditActor;
}

/** WeChat's answer, ready to send back. */
export interface ForwardAnswer {
  status: number;
  /** End-to-end headers only; no Content-Length when the body is bytes (the sender sets it). */
  headers: Record<string, string | string[]>;
  /** Inspected (small JSON) answers are bytes; everything else streams through untouched. */
  body: Buffer | Readable;
  /** WeChat's errcode, when the answer was inspected and carries one. */
  errcode: number | undefined;
  /** Calls made to WeChat for this request (2 after a token repair). */
  attempts: number;
  /**
   * WeChat refused the token of a call whose body streamed through (too large to replay): the token has been
   * repaired, WeChat's refusal is returned (with `x-wxhub-token-repaired: true`), and the client should send the
   * call again.
   */
  tokenRepaired: boolean;
}

/** JSON answers up to this size are read and inspected for token errors; larger ones stream through. */
const INSPECT_LIMIT_BYTES = 1024 * 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
]);

/**
 * Sends calls to WeChat with the account's current access_token through the shared WeChat transport, streaming
 * bodies both ways. When WeChat says the token is dead (40001/40014/42001) it reports the token to the token
 * plane (compare-and-refresh) and, if the request body was buffered, sends the call once more with the token the
 * plane answers; never a third time.
 */
@Injectable()
export class WechatForwarder implements OnModuleDestroy {
  private readonly logger = new Logger(WechatForwarder.name);
  private readonly options: ResolvedGatewayOptions;
  private readonly transport: WechatTransport;
  private lastToken = '';
  private lastEncoded = '';

  constructor(
    private readonly tokens: TokenService,
    @InjectGatewayModuleOptions() options: GatewayModuleOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.options = resolveGatewayOptions(options);
    this.transport = new WechatTransport({
      baseUrl: this.options.apiBaseUrl,
      timeoutMs: this.options.upstreamTimeoutMs,
      connectTimeoutMs: Math.min(this.options.upstreamTimeoutMs, 10_000),
      connections: this.options.connections,
    });
  }

  get limits(): { replayBytes: number; maxBytes: number } {
    return { replayBytes: this.options.replayBodyBytes, maxBytes: this.options.maxBodyBytes };
  }

  async onModuleDestroy(): Promise<void> {
    await this.transport.close();
  }

  /**
   * Forwards `call` with the current token of its account, repairing the token once if WeChat refuses it.
   * Throws TokenUnavailableError (no token), UpstreamFailureError (timeout, unreachable, HTTP 5xx),
   * BodyTooLargeError (a streamed body outgrew the limit).
   */
  async forward(call: ForwardCall): Promise<ForwardAnswer> {
    const token: AccessToken = await this.tokens.getToken(call.appId);
    const replayable = call.body.kind !== 'streamed';
    const outcome = await withTokenRetry({
      token: token.value,
      call: (accessToken) => this.send(call, accessToken),
      errcodeOf: (answer) => answer.errcode,
      replayable,
      onDeadToken: (errcode) =>
        this.logger.warn(
          `WeChat refused the token of ${call.appId} (errcode ${errcode}) on ${call.target.path}; ` +
            (replayable
              ? 'repairing it and calling again'
              : 'repairing it (the streamed body cannot be sent again)'),
        ),
      reportInvalid: async (dead) => {
        try {
          return (await this.tokens.reportInvalid(call.appId, dead, call.actor)).value;
        } catch (error) {
          this.logger.warn(`the token of ${call.appId} could not be repaired: ${(error as Error).message}`);
          return undefined;
        }
      },
    });
    const answer = outcome.result;
    answer.attempts = outcome.attempts;
    if (outcome.repaired && outcome.attempts === 1) {
      // a second refusal goes back to the caller as WeChat sent it; a streamed one says the token is new
      answer.tokenRepaired = true;
      answer.headers['x-wxhub-token-repaired'] = 'true';
    }
    return answer;
  }

  /** encodeURIComponent of the token, remembered for the last token seen (the same one, call after call). */
  private encoded(accessToken: string): string {
    if (accessToken !== this.lastToken) {
      this.lastToken = accessToken;
      this.lastEncoded = encodeURIComponent(accessToken);
    }
    return this.lastEncoded;
  }

  private async send(call: ForwardCall, accessToken: string): Promise<ForwardAnswer> {
    const { queryParts } = call.target;
    const tokenParam = `access_token=${this.encoded(accessToken)}`;
    const query = queryParts.length === 0 ? tokenParam : `${queryParts.join('&')}&${tokenParam}`;
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (call.contentType) headers['content-type'] = call.contentType;
    if (call.accept) headers.accept = call.accept;
    if (call.userAgent) headers['user-agent'] = call.userAgent;
    const request: TransportRequest = {
      method: call.method,
      path: `${call.target.path}?${query}`,
      headers,
    };
    let watchdog: ProgressWatchdog | undefined;
    if (call.body.kind === 'buffered') {
      request.body = call.body.bytes;
    } else if (call.body.kind === 'streamed') {
      // NOTE: undici's headers timer only restarts when the socket pushes back, so a client uploading slowly
      // would hit it mid-upload; a streamed body gets a no-progress timer instead.
      watchdog = new ProgressWatchdog(this.options.upstreamTimeoutMs);
      request.body = Readable.from(watchdog.track(call.body.chunks), { objectMode: false });
      request.signal = watchdog.signal;
      request.headersTimeout = 0;
      if (call.body.length !== undefined) headers['content-length'] = String(call.body.length);
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await this.transport.request(request);
    } catch (error) {
      throw upstreamError(watchdog?.reason ?? error, this.options.upstreamTimeoutMs);
    } finally {
      watchdog?.stop();
    }
    const { statusCode, headers: upstreamHeaders, body } = response;
    if (statusCode >= 500) {
      body.resume();
      throw new UpstreamFailureError('bad-status', `WeChat answered HTTP ${statusCode}`, statusCode);
    }
    if (!inspectable(upstreamHeaders)) {
      return answer(statusCode, endToEnd(upstreamHeaders, true), body, undefined);
    }
    let read: Buffer | Readable;
    try {
      // a declared length within the limit (checked by inspectable) is read in one go, the fast path
      read =
        upstreamHeaders['content-length'] !== undefined
          ? Buffer.from(await body.arrayBuffer())
          : await readUpTo(body, INSPECT_LIMIT_BYTES);
    } catch (error) {
      throw upstreamError(error, this.options.upstreamTimeoutMs);
    }
    if (!Buffer.isBuffer(read)) return answer(statusCode, endToEnd(upstreamHeaders, true), read, undefined);
    const errcode = errcodeOf(read);
    if (errcode !== undefined && errcode !== 0) this.metrics?.outboundError('gateway', errcode);
    return answer(statusCode, endToEnd(upstreamHeaders, false), read, errcode);
  }
}

function answer(
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | Readable,
  errcode: number | undefined,
): ForwardAnswer {
  return { status, headers, body, errcode, attempts: 1, tokenRepaired: false };
}

/** Aborts a streamed call when neither the upload nor WeChat's first answer byte makes progress in time. */
class ProgressWatchdog {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  reason: UpstreamFailureError | undefined;

  constructor(private readonly ms: number) {
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async *track(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      this.timer.refresh();
      yield chunk;
    }
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private fire(): void {
    this.reason = new UpstreamFailureError('timeout', `the call made no progress for ${this.ms} ms`);
    this.controller.abort(this.reason);
  }
}

/** JSON (or WeChat's JSON sent as text/plain, or no type at all) of a size worth reading. */
function inspectable(headers: Record<string, string | string[] | undefined>): boolean {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  if (type !== '' && !type.includes('json') && !type.startsWith('text/plain')) return false;
  const length = Number(headers['content-length'] ?? 0);
  return !(length > INSPECT_LIMIT_BYTES);
}

function errcodeOf(body: Buffer): number | undefined {
  // NOTE: most answers carry no errcode at all; the byte search spares parsing them
  if (body.length === 0 || !body.includes('"errcode"')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const errcode = (parsed as { errcode?: unknown } | null)?.errcode;
    return typeof errcode === 'number' ? errcode : undefined;
  } catch {
    return undefined;
  }
}

/** The whole body when it ends within `limit`, else a stream of what was read followed by the rest. */
async function readUpTo(body: Readable, limit: number): Promise<Buffer | Readable> {
  const iterator = (body[Symbol.asyncIterator] as () => AsyncIterator<Buffer>).call(body);
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return Buffer.concat(chunks, size);
    chunks.push(next.value);
    size += next.value.length;
    if (size > limit) break;
  }
  return Readable.from(
    (async function* (): AsyncGenerator<Buffer> {
      yield* chunks.splice(0);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })(),
    { objectMode: false },
  );
}

/** WeChat's headers minus hop-by-hop ones (and Content-Length unless the body streams through as sent). */
function endToEnd(
  headers: Record<string, string | string[] | undefined>,
  keepLength: boolean,
): Record<string, string | string[]> {
  const connection = headers.connection;
  // NOTE: names listed in Connection are hop-by-hop too; plain keep-alive/close lists nothing else
  const listed =
    typeof connection === 'string' && !/^\s*(keep-alive|close)\s*$/i.test(connection)
      ? new Set(connection.split(',').map((name) => name.trim().toLowerCase()))
      : undefined;
  const result: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    if (!keepLength && name === 'content-length') continue;
    result[name] = value;
  }
  return result;
}

/** A safe error: undici's messages may quote the URL, which carries the access_token. */
function upstreamError(error: unknown, timeoutMs: number): Error {
  if (error instanceof UpstreamFailureError || error instanceof BodyTooLargeError) return error;
  const failure = toTransportError(error, timeoutMs);
  return new UpstreamFailureError(failure.kind === 'timeout' ? 'timeout' : 'unreachable', failure.message);
}
