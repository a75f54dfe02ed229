import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { registerSandboxPlatformRoutes, WECHAT_BUSINESS_API } from './business/business-api';
import type { BusinessRoute, SimulatorHandle } from './business/business-contract';
import { registerControlRoutes, type SimulatorControl } from './simulator/control-routes';
import { TokenBook, type Issued } from './simulator/token-book';
import { ERR, isErrorCode, type WechatErrorCode } from './simulator/wechat-errors';
import {
  DEFAULT_TIMING,
  definedOnly,
  isNonEmptyString,
  parseJsonObject,
  queryOf,
  SimulatorInputError,
  SimulatorNotFoundError,
  stringParam,
  validateFault,
  validateTiming,
} from './simulator/simulator-input';
import type {
  RecordedCustomMessage,
  RecordedRequest,
  SimulatorApp,
  SimulatorAppStats,
  SimulatorFault,
  SimulatorStats,
  SimulatorTiming,
  TokenEndpoint,
  TokenGrant,
  TokenState,
} from './simulator/simulator-types';

// NOTE: the simulator's public types live beside it (simulator/, business/); its users import them from here
export type {
  BusinessHandler,
  BusinessRequest,
  BusinessResult,
  BusinessRoute,
} from './business/business-contract';
export { SimulatorInputError, SimulatorNotFoundError } from './simulator/simulator-input';
export type * from './simulator/simulator-types';

/** Construction options of {@link WechatSimulator}. */
export interface SimulatorOptions extends SimulatorTiming {
  apps?: SimulatorApp[];
  /**
   * Business endpoints (see BusinessRoute); they get token checks, faults, counting and recording.
   * Default: WECHAT_BUSINESS_API (menus, messages, users, tags, QR codes, media, material, …).
   */
  businessRoutes?: BusinessRoute[];
  /**
   * Routes without the token check, registered in their own scope. Default: the OAuth `/sns/*` endpoints,
   * `/cgi-bin/clear_quota/v2` and their `/sandbox/*` controls (registerSandboxPlatformRoutes).
   */
  routes?: (scope: FastifyInstance, simulator: WechatSimulator) => void;
  /** Millisecond clock; inject a fake one to test token semantics without waiting. Default `Date.now`. */
  now?: () => number;
}

/** The WeChat paths the simulator serves. */
export const SIMULATOR_PATHS = {
  token: '/cgi-bin/token',
  stableToken: '/cgi-bin/stable_token',
  callbackIp: '/cgi-bin/getcallbackip',
  apiDomainIp: '/cgi-bin/get_api_domain_ip',
  customSend: '/cgi-bin/message/custom/send',
} as const;

const CUSTOM_MESSAGE_TYPES = new Set([
  'text',
  'image',
  'voice',
  'video',
  'music',
  'news',
  'mpnews',
  'mpnewsarticle',
  'msgmenu',
  'wxcard',
  'miniprogrampage',
]);

/** What a Mini Program may send through `message/custom/send`. */
const MINI_PROGRAM_CUSTOM_TYPES = new Set(['text', 'image', 'link', 'miniprogrampage']);

const CALLBACK_IPS = ['101.226.103.0/25', '101.226.233.128/25', '58.247.206.128/25', '182.254.86.128/25'];
const API_DOMAIN_IPS = ['101.89.47.18', '101.91.34.103', '180.101.50.208', '183.3.234.85'];

interface WechatError {
  errcode: number;
  errmsg: string;
}

interface ActiveFault {
  id: string;
  fault: SimulatorFault;
  remaining?: number;
}

type AppCounter = Exclude<keyof SimulatorAppStats, 'tokensIssued'>;

/**
 * A faithful stand-in for the WeChat API with scaled timing, fault injection and an HTTP control surface under
 * `/sandbox/`. Plain Fastify, so it runs without Nest, in tests or as `dist/sandbox/main.js`.
 *
 * This class is the core: the token endpoints (semantics in simulator/token-book.ts), and around every business
 * route the shared pieces — the access_token check, fault injection, counting and recording. The business areas
 * live in business/ (listed in business-api.ts), the control routes in simulator/control-routes.ts.
 */
export class WechatSimulator implements SimulatorHandle, SimulatorControl {
  /** The underlying Fastify instance (routes are registered; call {@link listen} or `server.inject`). */
  readonly server: FastifyInstance;

  /** The simulator's clock (milliseconds), for business routes. */
  readonly now: () => number;
  private timing: Required<SimulatorTiming>;
  private readonly apps = new Map<string, string>();
  private readonly kinds = new Map<string, 'officialAccount' | 'miniProgram'>();
  private readonly tokens: TokenBook;
  private faults: ActiveFault[] = [];
  private recordedCustomMessages: RecordedCustomMessage[] = [];
  private recordedRequests: RecordedRequest[] = [];
  private faultSeq = 0;
  private counters: SimulatorStats = emptyStats();
  private readonly delays = new Set<NodeJS.Timeout>();
  /** Paths served with a basic access_token: the core's and the business routes'. */
  private readonly businessPaths: Set<string>;

  constructor(options: SimulatorOptions = {}) {
    this.now = options.now ?? Date.now;
    this.timing = validateTiming({ ...DEFAULT_TIMING, ...definedOnly(options) });
    this.tokens = new TokenBook(
      this.now,
      () => this.timing,
      (appId) => this.apps.get(appId),
    );
    for (const app of options.apps ?? []) this.addApp(app);
    const businessRoutes = options.businessRoutes ?? WECHAT_BUSINESS_API;
    this.businessPaths = new Set([
      SIMULATOR_PATHS.callbackIp,
      SIMULATOR_PATHS.apiDomainIp,
      SIMULATOR_PATHS.customSend,
      ...businessRoutes.map((route) => route.path),
    ]);
    this.server = Fastify({ logger: false, forceCloseConnections: true });
    this.server.register(async (scope) => this.registerWechatRoutes(scope));
    this.server.register(async (scope) => this.registerBusinessRoutes(scope, businessRoutes));
    this.server.register(async (scope) => (options.routes ?? registerSandboxPlatformRoutes)(scope, this));
    this.server.register(async (scope) => registerControlRoutes(scope, this));
  }

  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:40123`. Port 0 picks a free port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await this.server.listen({ port, host });
    const address = this.server.server.address();
    const actualPort = typeof address === 'object' && address !== null ? address.port : port;
    return `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  }

  /** Stops the server, dropping open connections (including hanging requests) at once. */
  async close(): Promise<void> {
    for (const timer of this.delays) clearTimeout(timer);
    this.delays.clear();
    await this.server.close();
  }

  /** Registers an app, or replaces the secret (and the kind, when given) of a known one. */
  addApp(app: SimulatorApp): void {
    if (!isNonEmptyString(app?.appId)) throw new SimulatorInputError('appId', 'must be a non-empty string');
    if (!isNonEmptyString(app.appSecret)) {
      throw new SimulatorInputError('appSecret', 'must be a non-empty string');
    }
    if (app.kind !== undefined && app.kind !== 'officialAccount' && app.kind !== 'miniProgram') {
      throw new SimulatorInputError('kind', "must be 'officialAccount' or 'miniProgram'");
    }
    this.apps.set(app.appId, app.appSecret);
    if (app.kind !== undefined || !this.kinds.has(app.appId))
      this.kinds.set(app.appId, app.kind ?? 'officialAccount');
    this.counters.byApp[app.appId] ??= emptyAppStats();
  }

  /** Changes timing and limits from now on; tokens already issued keep their expiry. Returns the effective values. */
  configure(timing: SimulatorTiming): Required<SimulatorTiming> {
    this.timing = validateTiming({ ...this.timing, ...definedOnly(timing) });
    return { ...this.timing };
  }

  /** A snapshot of the request counters. */
  stats(): SimulatorStats {
    return structuredClone({ ...this.counters, faultsActive: this.faults.length });
  }

  /** Requests the business endpoints received (optionally of one path), oldest first. */
  requests(path?: string): RecordedRequest[] {
    return this.recordedRequests
      .filter((r) => path === undefined || r.path === path)
      .map((r) => structuredClone(r));
  }

  /** A WeChat-shaped error with a fresh `rid`, for business handlers. */
  wechatError(errcode: number, errmsg: string): WechatError {
    return this.error([errcode, errmsg]);
  }

  /** Customer-service messages accepted since construction or the last reset, oldest first. */
  customMessages(): RecordedCustomMessage[] {
    return this.recordedCustomMessages.map((m) => ({ ...m, body: structuredClone(m.body) }));
  }

  /** Forgets all tokens, quotas, force history, faults and counters. Apps and timing are kept. */
  reset(): void {
    this.recordedCustomMessages = [];
    this.recordedRequests = [];
    this.tokens.clear();
    this.faults = [];
    this.counters = emptyStats();
    for (const appId of this.apps.keys()) this.counters.byApp[appId] = emptyAppStats();
  }

  /** Activates a fault; returns its id. */
  injectFault(fault: SimulatorFault): string {
    validateFault(fault);
    const id = `fault-${++this.faultSeq}`;
    this.faults.push({ id, fault: { ...fault }, remaining: fault.times });
    return id;
  }

  /** Drops every active fault. */
  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Every access_token this simulator still remembers having issued (current, superseded and killed ones; dead
   * tokens are forgotten a day after they died), for tests that prove no token reached a log.
   */
  issuedTokens(): string[] {
    return this.tokens.issued();
  }

  /** `expires_in` of a token issued now, in seconds. */
  tokenLifetimeSeconds(): number {
    return this.timing.tokenLifetimeSeconds;
  }

  /** `/cgi-bin/token` and `/cgi-bin/stable_token` calls of `appId` counted so far. */
  tokenCalls(appId: string): { token: number; stableToken: number } {
    const stats = this.counters.byApp[appId];
    return { token: stats?.token ?? 0, stableToken: stats?.stableToken ?? 0 };
  }

  /** When each customer-service message of `appId` was accepted (milliseconds), oldest first. */
  customMessageTimes(appId: string): number[] {
    return this.recordedCustomMessages.filter((m) => m.appId === appId).map((m) => m.receivedAt);
  }

  /** When each request of `appId` to business `path` was received (milliseconds), oldest first. */
  requestTimes(appId: string, path: string): number[] {
    return this.recordedRequests.filter((r) => r.appId === appId && r.path === path).map((r) => r.receivedAt);
  }

  /** Whether `path` is served with a basic access_token (the core's business paths and the business routes). */
  serves(path: string): boolean {
    return this.businessPaths.has(path);
  }

  /** Whether `appId` is a registered app. */
  hasApp(appId: string): boolean {
    return this.apps.has(appId);
  }

  /** What `appId` is (`officialAccount` for an unknown app). */
  appKind(appId: string): 'officialAccount' | 'miniProgram' {
    return this.kinds.get(appId) ?? 'officialAccount';
  }

  /** The error answer of a `busy` or `errcode` fault for `path` and `appId`, spending it (routes outside the core). */
  injectedError(path: string, appId: string | undefined): WechatError | undefined {
    const index = this.faults.findIndex(
      ({ fault }) =>
        fault.paths?.includes(path) === true &&
        (fault.kind === 'busy' || fault.kind === 'errcode') &&
        (fault.appId === undefined || fault.appId === appId),
    );
    if (index < 0) return undefined;
    const fault = this.takeFault(path, appId);
    if (fault?.kind === 'busy') return this.error(ERR.busy);
    return this.error([fault?.errcode ?? ERR.busy[0], fault?.errmsg ?? ERR.busy[1]]);
  }

  /** Whether `secret` is the AppSecret of `appId` (for routes that authenticate by secret, e.g. OAuth). */
  verifyAppSecret(appId: string, secret: string): boolean {
    return this.apps.get(appId) === secret;
  }

  /** What a business endpoint would currently make of `token` used for `appId` (`invalid` if another app owns it). */
  checkToken(appId: string, token: string): TokenState {
    return this.tokens.check(appId, token);
  }

  /**
   * Acts as another party holding the same credentials. `stable`: kills the current stable token at once and
   * makes a new current one (a force refresh). `legacy`: a `/cgi-bin/token` call (the current legacy token
   * enters its overlap). Neither is counted in stats, quotas or force spacing. Returns the token issued.
   */
  foreignRefresh(appId: string, endpoint: TokenEndpoint): TokenGrant {
    if (!this.apps.has(appId)) throw new SimulatorNotFoundError(`unknown app ${appId}`);
    if (endpoint !== 'stable' && endpoint !== 'legacy') {
      throw new SimulatorInputError('endpoint', "must be 'stable' or 'legacy'");
    }
    return this.tokens.foreignRefresh(appId, endpoint);
  }

  /**
   * Kills `token` of `appId`: business endpoints answer 40001 for it from now on. With `stillIssued`, normal-mode
   * stable_token calls keep handing it out (only a force refresh replaces it), as WeChat occasionally does.
   */
  revoke(appId: string, token: string, options: { stillIssued?: boolean } = {}): void {
    if (!this.tokens.revoke(appId, token, options.stillIssued === true)) {
      throw new SimulatorNotFoundError(`no such token for app ${appId}`);
    }
  }

  private async registerWechatRoutes(scope: FastifyInstance): Promise<void> {
    // NOTE: WeChat answers a malformed stable_token body with 47001, so the body is parsed by hand, whatever its type.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.get(SIMULATOR_PATHS.token, async (request, reply) => {
      const query = queryOf(request);
      const appId = stringParam(query.appid);
      this.count(SIMULATOR_PATHS.token, appId, 'token');
      return this.respond(reply, SIMULATOR_PATHS.token, appId, () =>
        this.answerToken(this.tokens.legacy(query)),
      );
    });

    scope.get(SIMULATOR_PATHS.stableToken, async (request, reply) => {
      const appId = stringParam(queryOf(request).appid);
      this.count(SIMULATOR_PATHS.stableToken, appId, 'stableToken');
      return this.respond(reply, SIMULATOR_PATHS.stableToken, appId, () => this.error(ERR.requirePost));
    });

    scope.post(SIMULATOR_PATHS.stableToken, async (request, reply) => {
      const body = parseJsonObject(request.body);
      const appId = body ? stringParam(body.appid) : undefined;
      const force = body?.force_refresh === true;
      if (force) this.counters.forceCalls++;
      this.count(
        SIMULATOR_PATHS.stableToken,
        appId,
        'stableToken',
        ...(force ? ['stableTokenForce' as const] : []),
      );
      return this.respond(reply, SIMULATOR_PATHS.stableToken, appId, () =>
        body ? this.answerToken(this.tokens.stable(body)) : this.error(ERR.dataFormat),
      );
    });

    scope.post(SIMULATOR_PATHS.customSend, async (request, reply) => {
      const token = stringParam(queryOf(request).access_token);
      const appId = token === undefined ? undefined : this.tokens.ownerOf(token);
      this.count(SIMULATOR_PATHS.customSend, appId, 'business');
      return this.respond(reply, SIMULATOR_PATHS.customSend, appId, () => {
        const denied = this.handleBusiness(token, []);
        if ('errcode' in denied) return denied;
        const body = parseJsonObject(request.body);
        if (!body) return this.error(ERR.dataFormat);
        const msgtype = body.msgtype;
        const miniProgram = this.appKind(appId as string) === 'miniProgram';
        if (
          typeof body.touser !== 'string' ||
          !body.touser ||
          typeof msgtype !== 'string' ||
          !(CUSTOM_MESSAGE_TYPES.has(msgtype) || (miniProgram && msgtype === 'link'))
        ) {
          return this.error(ERR.dataFormat);
        }
        if (miniProgram && !MINI_PROGRAM_CUSTOM_TYPES.has(msgtype)) return this.error(ERR.invalidMessageType);
        if (!body[msgtype] || typeof body[msgtype] !== 'object') return this.error(ERR.dataFormat);
        this.recordedCustomMessages.push({ appId: appId as string, receivedAt: this.now(), body });
        return { errcode: 0, errmsg: 'ok' };
      });
    });

    for (const [path, ipList] of [
      [SIMULATOR_PATHS.callbackIp, CALLBACK_IPS],
      [SIMULATOR_PATHS.apiDomainIp, API_DOMAIN_IPS],
    ] as const) {
      scope.get(path, async (request, reply) => {
        const token = stringParam(queryOf(request).access_token);
        const appId = token === undefined ? undefined : this.tokens.ownerOf(token);
        this.count(path, appId, 'business');
        return this.respond(reply, path, appId, () => this.handleBusiness(token, ipList));
      });
    }
  }

  private async registerBusinessRoutes(scope: FastifyInstance, routes: BusinessRoute[]): Promise<void> {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: 32 * 1024 * 1024 },
      (_request, body, done) => done(null, body),
    );
    for (const route of routes) {
      scope.route({
        method: route.method,
        url: route.path,
        handler: async (request, reply) => {
          const query = queryOf(request);
          const token = stringParam(query.access_token);
          const appId = token === undefined ? undefined : this.tokens.ownerOf(token);
          this.count(route.path, appId, 'business');
          const fault = this.takeFault(route.path, appId);
          if (fault?.kind === 'latency') await this.delay(fault.latencyMs ?? 0);
          else if (fault) return this.respond(reply, route.path, appId, () => ({}), fault);
          const denied = this.handleBusiness(token, []);
          if ('errcode' in denied) return reply.send(denied);
          const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          let parsed: Record<string, unknown> | null | undefined;
          const json = (): Record<string, unknown> | null =>
            (parsed ??= parseJsonObject(body.toString('utf8')) ?? null);
          const contentType = String(request.headers['content-type'] ?? '');
          this.recordedRequests.push({
            method: request.method,
            path: route.path,
            appId: appId as string,
            query: { ...query, access_token: '<checked>' },
            body:
              contentType.includes('json') || (body.length > 0 && body[0] === 0x7b)
                ? json()
                : { bytes: body.length, contentType },
            receivedAt: this.now(),
          });
          const result = await route.handler(
            {
              appId: appId as string,
              method: request.method,
              path: route.path,
              query,
              headers: request.headers,
              body,
              json,
            },
            this,
          );
          if ('binary' in result && Buffer.isBuffer(result.binary)) {
            const binary = result as {
              binary: Buffer;
              contentType: string;
              headers?: Record<string, string>;
            };
            return reply
              .headers(binary.headers ?? {})
              .type(binary.contentType)
              .send(binary.binary);
          }
          return reply.send(result);
        },
      });
    }
  }

  private async respond(
    reply: FastifyReply,
    path: string,
    appId: string | undefined,
    handle: () => object,
    taken?: SimulatorFault,
  ): Promise<FastifyReply | undefined> {
    const fault = taken ?? this.takeFault(path, appId);
    switch (fault?.kind) {
      case undefined:
        break;
      case 'busy':
        return reply.send(this.error(ERR.busy));
      case 'http500':
        return reply.code(500).type('text/plain; charset=utf-8').send('500 Internal Server Error');
      case 'hang':
        reply.hijack();
        return undefined;
      case 'errcode':
        return reply.send(this.error([fault.errcode ?? ERR.busy[0], fault.errmsg ?? ERR.busy[1]]));
      case 'latency':
        await this.delay(fault.latencyMs ?? 0);
        break;
    }
    return reply.send(handle());
  }

  /** A token answer as WeChat sends it; a token newly handed out is counted for its app. */
  private answerToken(answer: Issued | WechatErrorCode): WechatError | TokenGrant {
    if (isErrorCode(answer)) return this.error(answer);
    if (answer.fresh) this.statsOf(answer.appId).tokensIssued++;
    return answer.grant;
  }

  /** The access_token check of every business endpoint (41001, 40001, 42001), else the IP list. */
  private handleBusiness(
    token: string | undefined,
    ipList: readonly string[],
  ): WechatError | { ip_list: string[] } {
    const denied = this.tokens.checkAccess(token);
    return denied ? this.error(denied) : { ip_list: [...ipList] };
  }

  private takeFault(path: string, appId: string | undefined): SimulatorFault | undefined {
    const index = this.faults.findIndex(
      ({ fault }) =>
        (fault.paths ? fault.paths.includes(path) : path.startsWith('/cgi-bin/')) &&
        (fault.appId === undefined || fault.appId === appId),
    );
    const active = this.faults[index];
    if (!active) return undefined;
    if (active.remaining !== undefined && --active.remaining <= 0) this.faults.splice(index, 1);
    return active.fault;
  }

  private count(path: string, appId: string | undefined, ...counters: AppCounter[]): void {
    this.counters.calls[path] = (this.counters.calls[path] ?? 0) + 1;
    if (appId === undefined || !this.apps.has(appId)) return;
    const stats = this.statsOf(appId);
    for (const counter of counters) stats[counter]++;
  }

  private statsOf(appId: string): SimulatorAppStats {
    return (this.counters.byApp[appId] ??= emptyAppStats());
  }

  private error([errcode, errmsg]: WechatErrorCode): WechatError {
    return { errcode, errmsg: `${errmsg} rid: ${this.rid()}` };
  }

  private rid(): string {
    const seconds = Math.floor(this.now() / 1000) >>> 0;
    return `${seconds.toString(16).padStart(8, '0')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.delays.delete(timer);
        resolve();
      }, ms);
      this.delays.add(timer);
    });
  }
}

function emptyStats(): SimulatorStats {
  return {
    calls: Object.fromEntries(Object.values(SIMULATOR_PATHS).map((path) => [path, 0])),
    forceCalls: 0,
    byApp: {},
    faultsActive: 0,
  };
}

function emptyAppStats(): SimulatorAppStats {
  return { token: 0, stableToken: 0, stableTokenForce: 0, business: 0, tokensIssued: 0 };
}
