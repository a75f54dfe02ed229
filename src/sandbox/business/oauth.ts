import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimulatorHandle } from './business-contract';
import { isObject, OK, randomToken, str } from './business-route';
import { sandboxOpenid, stateOf, type OAuthGrant } from './business-state';

const OAUTH_CODE_LIFETIME_MS = 5 * 60_000;
const REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;
const MAX_OAUTH_ENTRIES = 20_000;

type Query = Record<string, unknown>;
type WechatErrorAnswer = ReturnType<SimulatorHandle['wechatError']>;

/**
 * Stands in for the user consenting on WeChat's authorize page: a single-use `code` (5 minutes) for
 * `openid` (default the first seeded follower) and `scope` (default `snsapi_userinfo`).
 */
export function mintSandboxOAuthCode(
  sim: SimulatorHandle,
  options: { appId: string; openid?: string; scope?: 'snsapi_base' | 'snsapi_userinfo' },
): { code: string; openid: string; scope: string } {
  if (!sim.hasApp(options.appId)) throw new Error(`unknown app ${options.appId}`);
  const scope = options.scope ?? 'snsapi_userinfo';
  if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo')
    throw new Error('scope must be snsapi_base or snsapi_userinfo');
  const openid = options.openid ?? sandboxOpenid(1);
  if (!/^[\w-]{1,64}$/.test(openid)) throw new Error('openid must be 1 to 64 letters, digits, _ or -');
  const state = stateOf(sim);
  const code = randomToken(24);
  bounded(state.codes, sim.now()).set(code, {
    appId: options.appId,
    openid,
    scope,
    expiresAt: sim.now() + OAUTH_CODE_LIFETIME_MS,
    used: false,
  });
  return { code, openid, scope };
}

/**
 * Web authorization (网页授权): `/sns/oauth2/access_token`, `/sns/oauth2/refresh_token`, `/sns/userinfo`, `/sns/auth`,
 * an auto-consenting `/connect/oauth2/authorize` page, and `POST /sandbox/oauth/code` to mint a code directly.
 */
export function registerOAuthRoutes(scope: FastifyInstance, sim: SimulatorHandle): void {
  const fail = (code: number, message: string): object => sim.wechatError(code, message);
  const state = (): ReturnType<typeof stateOf> => stateOf(sim);

  scope.get('/sns/oauth2/access_token', async (request) => {
    const q = request.query as Query;
    const credentials = checkOAuthApp(sim, q, 'authorization_code', true);
    if ('errcode' in credentials) return credentials;
    const code = str(q.code);
    if (!code) return fail(41008, 'missing code');
    const grant = state().codes.get(code);
    if (!grant || grant.appId !== credentials.appId || grant.expiresAt <= sim.now())
      return fail(40029, 'invalid code');
    if (grant.used) return fail(40163, 'code been used');
    grant.used = true;
    const refreshToken = randomToken(64);
    bounded(state().refreshTokens, sim.now()).set(refreshToken, {
      ...grant,
      expiresAt: sim.now() + REFRESH_TOKEN_LIFETIME_MS,
    });
    return {
      ...issueWebToken(sim, grant),
      refresh_token: refreshToken,
      openid: grant.openid,
      scope: grant.scope,
      is_snapshotuser: 0,
    };
  });

  scope.get('/sns/oauth2/refresh_token', async (request) => {
    const q = request.query as Query;
    const credentials = checkOAuthApp(sim, q, 'refresh_token', false);
    if ('errcode' in credentials) return credentials;
    const refreshToken = str(q.refresh_token);
    if (!refreshToken) return fail(41003, 'missing refresh_token');
    const grant = state().refreshTokens.get(refreshToken);
    if (!grant || grant.appId !== credentials.appId) return fail(40030, 'invalid refresh_token');
    if (grant.expiresAt <= sim.now()) return fail(42002, 'refresh_token expired');
    return {
      ...issueWebToken(sim, grant),
      refresh_token: refreshToken,
      openid: grant.openid,
      scope: grant.scope,
    };
  });

  scope.get('/sns/userinfo', async (request) => {
    const q = request.query as Query;
    const grant = checkWebToken(sim, q);
    if ('errcode' in grant) return grant;
    if (!grant.scope.split(',').includes('snsapi_userinfo')) return fail(48001, 'api unauthorized');
    const index = Number(/(\d+)$/.exec(grant.openid)?.[1] ?? 0);
    return {
      openid: grant.openid,
      nickname: `Sandbox User ${index}`,
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: '',
      privilege: [],
    };
  });

  scope.get('/sns/auth', async (request) => {
    const grant = checkWebToken(sim, request.query as Query);
    return 'errcode' in grant ? grant : OK;
  });

  scope.get('/connect/oauth2/authorize', async (request, reply: FastifyReply) => {
    const q = request.query as Query;
    const appId = str(q.appid);
    const redirect = str(q.redirect_uri);
    const scopeName = str(q.scope);
    if (!appId || !sim.hasApp(appId)) return reply.code(400).type('text/plain').send('appid 参数错误');
    if (!redirect || !/^https?:\/\//.test(redirect))
      return reply.code(400).type('text/plain').send('redirect_uri 参数错误');
    if (str(q.response_type) !== 'code')
      return reply.code(400).type('text/plain').send('response_type 参数错误');
    if (scopeName !== 'snsapi_base' && scopeName !== 'snsapi_userinfo') {
      return reply.code(400).type('text/plain').send('scope 参数错误');
    }
    const { code } = mintSandboxOAuthCode(sim, { appId, scope: scopeName, openid: str(q.openid) });
    const target = new URL(redirect);
    target.searchParams.set('code', code);
    target.searchParams.set('state', typeof q.state === 'string' ? q.state : '');
    return reply.redirect(target.toString(), 302);
  });

  scope.post('/sandbox/oauth/code', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    try {
      return mintSandboxOAuthCode(sim, {
        appId: String(body.appid ?? ''),
        openid: typeof body.openid === 'string' ? body.openid : undefined,
        scope: body.scope as 'snsapi_base' | 'snsapi_userinfo' | undefined,
      });
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
  });
}

function checkOAuthApp(
  sim: SimulatorHandle,
  q: Query,
  grantType: string,
  needsSecret: boolean,
): { appId: string } | WechatErrorAnswer {
  const appId = str(q.appid);
  if (!appId) return sim.wechatError(41002, 'appid missing');
  if (needsSecret && !str(q.secret)) return sim.wechatError(41004, 'appsecret missing');
  if (str(q.grant_type) !== grantType) return sim.wechatError(40002, 'invalid grant_type');
  if (!sim.hasApp(appId)) return sim.wechatError(40013, 'invalid appid');
  if (needsSecret && !sim.verifyAppSecret(appId, str(q.secret) ?? ''))
    return sim.wechatError(40125, 'invalid appsecret');
  return { appId };
}

function issueWebToken(
  sim: SimulatorHandle,
  grant: OAuthGrant,
): { access_token: string; expires_in: number } {
  const lifetime = sim.tokenLifetimeSeconds();
  const token = randomToken(72);
  bounded(stateOf(sim).webTokens, sim.now()).set(token, {
    appId: grant.appId,
    openid: grant.openid,
    scope: grant.scope,
    expiresAt: sim.now() + lifetime * 1000,
  });
  return { access_token: token, expires_in: lifetime };
}

function checkWebToken(sim: SimulatorHandle, q: Query): OAuthGrant | WechatErrorAnswer {
  const token = str(q.access_token);
  if (!token) return sim.wechatError(41001, 'access_token missing');
  const grant = stateOf(sim).webTokens.get(token);
  if (!grant) return sim.wechatError(40001, 'invalid credential, access_token is invalid or not latest');
  if (grant.expiresAt <= sim.now()) return sim.wechatError(42001, 'access_token expired');
  const openid = str(q.openid);
  if (!openid) return sim.wechatError(41009, 'missing openid');
  if (openid !== grant.openid) return sim.wechatError(40003, 'invalid openid');
  return grant;
}

function bounded<K, V extends { expiresAt: number }>(map: Map<K, V>, now: number): Map<K, V> {
  if (map.size >= MAX_OAUTH_ENTRIES) {
    for (const [key, value] of map) if (value.expiresAt < now) map.delete(key);
    while (map.size >= MAX_OAUTH_ENTRIES) map.delete(map.keys().next().value as K);
  }
  return map;
}
