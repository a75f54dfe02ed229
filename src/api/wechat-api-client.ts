import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { PassThrough, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AccountRegistry } from '../accounts/account-registry';
import { AuditLog } from '../audit/audit-log.service';
import { TokenService } from '../token/token.service';
import { InjectApiOptions } from './api.constants';
import type { ResolvedApiOptions } from './api-options';
import { MaterialApi } from './areas/material';
import { MediaApi } from './areas/media';
import { MenuApi } from './areas/menu';
import { MessageApi } from './areas/message';
import { MiniProgramApi } from './areas/mini-program';
import { MiscApi } from './areas/misc';
import { QrCodeApi } from './areas/qrcode';
import { ShortenApi } from './areas/shorten';
import { TagsApi } from './areas/tags';
import { UserApi } from './areas/user';
import { withTokenRetry } from '../wechat-transport/token-retry';
import { redactSecrets, toTransportError } from '../wechat-transport/transport-failure';
import { BUSY_ERRCODE, errcodeOf, isTokenDead } from '../wechat-transport/wechat-errcodes';
import { WechatTransport } from '../wechat-transport/wechat-transport';
import { splitRid, toWechatApiError } from './errors/to-wechat-api-error';
import { WechatBusyError } from './errors/wechat-busy.error';
import { WechatTokenError } from './errors/wechat-token.error';
import { WechatUpstreamError } from './errors/wechat-upstream.error';
import { buildMultipart, isReplayable, type MultipartBody } from './multipart';
import type {
  WechatBinary,
  WechatBinaryStream,
  WechatCaller,
  WechatJson,
  WechatQuery,
  WechatRequest,
} from './wechat-request';

export type {
  WechatBinary,
  WechatBinaryStream,
  WechatJson,
  WechatQuery,
  WechatRequest,
} from './wechat-request';

type Attempt = { ok: true; value: unknown } | { ok: false; errcode: number; errmsg: string };

/** Shared by every attempt of one request: the busy budget is spent across a token retry too. */
interface AttemptCounts {
  attempts: number;
  busyRetries: number;
  retryBusy: boolean;
}

const JSON_CONTENT_TYPE = /^(application\/json|text\/plain|text\/json|text\/javascript)/i;

/**
 * Calls WeChat's server APIs for any configured account: takes the account's access_token from the token
 * plane and adds it as `?access_token=`, maps `errcode` answers to typed errors ({@link WechatApiError} and
 * subclasses) and retries where that is safe.
 *
 * Retries (all bounded, never a loop):
 * - 40001 / 40014 / 42001 (token dead): the token is reported to the token plane (compare-and-refresh, so many
 *   callers reporting one token cause one refresh) and the call is made **once** more with the token it hands
 *   back; a second token error throws {@link WechatTokenError}. A streamed upload cannot be resent: the token is
 *   still repaired, then `WechatTokenError` with `tokenRepaired: true` is thrown so that your own retry works.
 * - -1 (system busy): up to `busyRetries` (default 2) more attempts after ~200 ms and ~400 ms (jittered), then
 *   {@link WechatBusyError}. Not for streamed uploads, nor for requests with `retryBusy: false`.
 * - Nothing else: HTTP errors, timeouts and network failures throw {@link WechatUpstreamError} at once, since a
 *   POST may have been processed; quota (45009/45011), permission and whitelist errors are not transient.
 *
 * The typed areas (`client.menu`, `client.user`, …) cover the common APIs; `request` reaches any other.
 * Keep-alive connections come from the shared WeChat transport (one pool per origin in the process).
 */
@Injectable()
export class WechatApiClient implements WechatCaller, OnModuleDestroy {
  /** Custom menus, incl. conditional menus. */
  readonly menu: MenuApi;
  /** Customer-service, typing, template and subscription messages. */
  readonly message: MessageApi;
  /** Followers: info, list, batch info, remarks. */
  readonly user: UserApi;
  /** User tags and the blacklist. */
  readonly tags: TagsApi;
  /** Parametric QR codes. */
  readonly qrcode: QrCodeApi;
  /** Temporary media (3 days) and images for articles. */
  readonly media: MediaApi;
  /** Permanent material. */
  readonly material: MaterialApi;
  /** Short keys for long data. */
  readonly shorten: ShortenApi;
  /** IP lists, network check, quotas, rid lookup. */
  readonly misc: MiscApi;
  /** Mini Program APIs: login (code2Session), phone numbers, subscribe messages, wxacodes, links, content checks. */
  readonly miniProgram: MiniProgramApi;

  private readonly logger = new Logger(WechatApiClient.name);
  private readonly transport: WechatTransport;

  constructor(
    private readonly tokens: TokenService,
    accounts: AccountRegistry,
    @InjectApiOptions() private readonly options: ResolvedApiOptions,
    @Optional() audit?: AuditLog,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.transport = new WechatTransport({
      baseUrl: options.apiBaseUrl,
      timeoutMs: options.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      connections: options.connections,
    });
    this.menu = new MenuApi(this);
    this.message = new MessageApi(this);
    this.user = new UserApi(this);
    this.tags = new TagsApi(this);
    this.qrcode = new QrCodeApi(this);
    this.media = new MediaApi(this);
    this.material = new MaterialApi(this);
    this.shorten = new ShortenApi(this);
    this.misc = new MiscApi(this, accounts, audit);
    this.miniProgram = new MiniProgramApi(this, (appId) => accounts.getOrThrow(appId).appSecret);
  }

  async onModuleDestroy(): Promise<void> {
    // the last user of the pool lets calls in flight finish (bounded), then drops what is left
    await this.transport.close();
  }

  /**
   * Calls a WeChat API as `appId`, with its access_token. Resolves to the JSON answer (or the download for
   * `responseType: 'buffer' | 'stream'`); rejects with a {@link WechatApiError} subclass, with
   * `AccountNotFoundError` for an unknown `appId`, or with `TokenUnavailableError` when the token plane has no
   * token to give. See the class comment for what is retried.
   * @throws TypeError when the path or query already carries `access_token`, or the request is malformed.
   */
  request<T = WechatJson>(appId: string, request: WechatRequest & { responseType?: 'json' }): Promise<T>;
  request(appId: string, request: WechatRequest & { responseType: 'buffer' }): Promise<WechatBinary>;
  request(appId: string, request: WechatRequest & { responseType: 'stream' }): Promise<WechatBinaryStream>;
  request(appId: string, request: WechatRequest): Promise<unknown> {
    return this.run(appId, request, []);
  }

  /**
   * Calls an API that takes no basic access_token: the OAuth `/sns/*` endpoints (their own web token goes in
   * `query`) and `/cgi-bin/clear_quota/v2`. No token retry (there is no hub token to repair); busy retries as
   * for `request`. `redact` lists values (secrets, codes, web tokens) to blank out of any error text.
   */
  requestWithoutToken<T = WechatJson>(
    request: WechatRequest & { responseType?: 'json'; redact?: string[] },
  ): Promise<T> {
    return this.run(null, request, request.redact ?? []) as Promise<T>;
  }

  private async run(appId: string | null, request: WechatRequest, redact: string[]): Promise<unknown> {
    const path = checkRequest(request, appId !== null);
    const replayable = request.multipart === undefined || isReplayable(request.multipart);
    const counts: AttemptCounts = {
      attempts: 0,
      busyRetries: 0,
      retryBusy: request.retryBusy !== false && replayable,
    };
    if (appId === null)
      return settle(await this.attemptUntilNotBusy(request, path, undefined, redact, counts));
    const outcome = await withTokenRetry({
      token: await this.tokens.getAccessToken(appId),
      call: (token) => this.attemptUntilNotBusy(request, path, token, [...redact, token], counts),
      errcodeOf: (attempt) => (attempt.ok ? undefined : attempt.errcode),
      replayable,
      reportInvalid: async (token) => (await this.tokens.reportInvalid(appId, token)).value,
      onDeadToken: (errcode) => {
        if (replayable)
          this.logger.log(
            `${path} for ${appId}: token rejected (errcode ${errcode}); retrying once with the current one`,
          );
      },
    });
    const result = outcome.result;
    if (!result.ok && isTokenDead(result.errcode) && outcome.repaired) {
      const { errmsg: text, rid } = splitRid(result.errmsg);
      if (outcome.attempts === 1) {
        throw new WechatTokenError(result.errcode, text, path, rid, counts.attempts, true);
      }
      this.logger.warn(
        `${path} for ${appId}: the replaced token was rejected too (errcode ${result.errcode}); giving up`,
      );
      throw new WechatTokenError(result.errcode, text, path, rid, counts.attempts, false);
    }
    return settle(result);

    function settle(attempt: Attempt): unknown {
      if (attempt.ok) return attempt.value;
      const { errcode, errmsg } = attempt;
      if (errcode === BUSY_ERRCODE) {
        const { errmsg: text, rid } = splitRid(errmsg);
        throw new WechatBusyError(text, path, rid, counts.attempts);
      }
      throw toWechatApiError(errcode, errmsg, path);
    }
  }

  /** One attempt, repeated after a busy answer (-1) within the request's busy budget. */
  private async attemptUntilNotBusy(
    request: WechatRequest,
    path: string,
    token: string | undefined,
    redact: string[],
    counts: AttemptCounts,
  ): Promise<Attempt> {
    for (;;) {
      counts.attempts++;
      const outcome = await this.attempt(request, path, token, redact);
      if (outcome.ok) return outcome;
      this.metrics?.outboundError('client', outcome.errcode);
      if (
        outcome.errcode !== BUSY_ERRCODE ||
        !counts.retryBusy ||
        counts.busyRetries >= this.options.busyRetries
      ) {
        return outcome;
      }
      await sleep(this.backoff(counts.busyRetries++));
    }
  }

  private async attempt(
    request: WechatRequest,
    path: string,
    token: string | undefined,
    redact: string[],
  ): Promise<Attempt> {
    const headers: Record<string, string> = {};
    let body: Buffer | Readable | undefined;
    let upload: MultipartBody | undefined;
    if (request.multipart) {
      upload = buildMultipart(request.multipart);
      body = upload.body;
      headers['content-type'] = upload.contentType;
      if (upload.contentLength !== undefined) headers['content-length'] = String(upload.contentLength);
    } else if (request.json !== undefined) {
      body = Buffer.from(JSON.stringify(request.json), 'utf8');
      headers['content-type'] = 'application/json; charset=utf-8';
    }

    let response: Dispatcher.ResponseData;
    try {
      response = await this.transport.request({
        method: request.method,
        path: withQuery(request.path, request.query, token),
        headers,
        body,
      });
    } catch (error) {
      const sourceError = upload?.sourceError();
      if (sourceError !== undefined) throw sourceError;
      throw this.upstreamError(error, path);
    }

    const status = response.statusCode;
    if (status < 200 || status >= 300) {
      await response.body.dump().catch(() => undefined);
      throw new WechatUpstreamError('http', `WeChat answered HTTP ${status}`, path, status);
    }
    const contentType = headerValue(response.headers['content-type']) ?? 'application/octet-stream';
    const responseType = request.responseType ?? 'json';

    if (responseType === 'json') {
      const parsed = parseJsonObject(await this.readAll(response.body, path));
      if (!parsed) throw new WechatUpstreamError('invalid-response', 'the answer is not a JSON object', path);
      return outcomeOf(parsed, redact);
    }

    const filename = filenameOf(headerValue(response.headers['content-disposition']));
    if (JSON_CONTENT_TYPE.test(contentType)) {
      // WeChat answers errors (and a video's URL) as JSON where bytes were asked for
      const data = await this.readAll(response.body, path);
      const parsed = parseJsonObject(data);
      if (parsed) {
        const outcome = outcomeOf(parsed, redact);
        if (!outcome.ok) return outcome;
      }
      return {
        ok: true,
        value:
          responseType === 'buffer'
            ? { contentType, filename, data }
            : { contentType, filename, contentLength: data.length, stream: Readable.from([data]) },
      };
    }
    if (responseType === 'buffer') {
      return { ok: true, value: { contentType, filename, data: await this.readAll(response.body, path) } };
    }
    const length = Number(headerValue(response.headers['content-length']));
    const source = response.body;
    // NOTE: the consumer sees safe errors (no socket details), and destroying its stream frees the connection
    const stream = new PassThrough();
    source.on('error', (error) => stream.destroy(this.upstreamError(error, path)));
    stream.on('close', () => {
      if (!source.destroyed) source.destroy();
    });
    source.pipe(stream);
    return {
      ok: true,
      value: {
        contentType,
        filename,
        contentLength: Number.isSafeInteger(length) ? length : undefined,
        stream,
      } satisfies WechatBinaryStream,
    };
  }

  private async readAll(body: Dispatcher.ResponseData['body'], path: string): Promise<Buffer> {
    try {
      return await this.transport.readBody(body);
    } catch (error) {
      throw this.upstreamError(error, path);
    }
  }

  /** A failure without an answer, described without the request URL (it carries the token). */
  private upstreamError(error: unknown, path: string): WechatUpstreamError {
    if (error instanceof WechatUpstreamError) return error;
    const failure = toTransportError(error, this.options.timeoutMs);
    return new WechatUpstreamError(failure.kind, failure.message, path);
  }

  private backoff(retry: number): number {
    return this.options.busyRetryDelayMs * 2 ** retry * (0.75 + Math.random() * 0.5);
  }
}

/** Validates a request; returns its path without query string (the form used in errors). */
function checkRequest(request: WechatRequest, withToken: boolean): string {
  if (request.method !== 'GET' && request.method !== 'POST')
    throw new TypeError('method must be GET or POST');
  if (
    typeof request.path !== 'string' ||
    !/^\/[^\s#]*$/.test(request.path) ||
    request.path.startsWith('//')
  ) {
    throw new TypeError('path must be an absolute path on the API host, e.g. /cgi-bin/user/info');
  }
  const queryStart = request.path.indexOf('?');
  const pathname = queryStart < 0 ? request.path : request.path.slice(0, queryStart);
  const search = new URLSearchParams(queryStart < 0 ? '' : request.path.slice(queryStart + 1));
  if (withToken && (search.has('access_token') || Object.hasOwn(request.query ?? {}, 'access_token'))) {
    throw new TypeError(`${pathname}: do not pass access_token, the client adds the account's token`);
  }
  if (request.json !== undefined && request.multipart !== undefined) {
    throw new TypeError(`${pathname}: a request has a JSON body or a multipart upload, not both`);
  }
  if (request.method === 'GET' && (request.json !== undefined || request.multipart !== undefined)) {
    throw new TypeError(`${pathname}: a GET request has no body`);
  }
  return pathname;
}

function withQuery(path: string, query: WechatQuery | undefined, token: string | undefined): string {
  const queryStart = path.indexOf('?');
  const pathname = queryStart < 0 ? path : path.slice(0, queryStart);
  const params = new URLSearchParams(queryStart < 0 ? '' : path.slice(queryStart + 1));
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.append(key, String(value));
  }
  if (token !== undefined) params.append('access_token', token);
  const search = params.toString();
  return search ? `${pathname}?${search}` : pathname;
}

function outcomeOf(parsed: WechatJson, redact: string[]): Attempt {
  const errcode = errcodeOf(parsed);
  if (errcode !== 0) {
    return {
      ok: false,
      errcode,
      errmsg: redactSecrets(typeof parsed.errmsg === 'string' ? parsed.errmsg : '', redact),
    };
  }
  return { ok: true, value: parsed };
}

function parseJsonObject(data: Buffer): WechatJson | null {
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as WechatJson)
      : null;
  } catch {
    return null;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function filenameOf(disposition: string | undefined): string | undefined {
  if (!disposition) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition)?.[1];
  if (extended) {
    try {
      return decodeURIComponent(extended.trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  return /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/i
    .exec(disposition)
    ?.slice(1)
    .find((v) => v !== undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
