import { createHash, randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import type { BusinessRoute, SimulatorHandle } from './business-contract';
import { isObject, jsonBody, OK, randomToken, reject, route, str, userOf, type Ctx } from './business-route';
import { sandboxOpenid, stateOf, type MiniProgramCode } from './business-state';

/*
 * Mini Program (小程序) APIs: login (`/sns/jscode2session`, no access_token), and the `/wxa/*` and subscribe-message
 * APIs (with one). Login and phone codes come from helpers standing in for `wx.login()` and the getPhoneNumber
 * button: mintSandboxLoginCode / mintSandboxPhoneCode, or `POST /sandbox/wxa/login-code` / `.../phone-code`.
 */

const CODE_LIFETIME_MS = 5 * 60_000;
/** code2Session calls per user per minute before 45011, as on WeChat. */
const LOGINS_PER_MINUTE = 100;
const MAX_CODES = 20_000;
/** A sandbox phone number (a reserved test range). */
export const SANDBOX_PHONE_NUMBER = '13800138000';
/** Text containing this is judged `risky` by the sandbox's content check. */
export const SANDBOX_RISKY_WORD = 'sandbox-risky';

/**
 * Stands in for `wx.login()` in the Mini Program: a single-use login code (5 minutes) for `openid` (default the
 * first seeded user). `risky` makes code2Session answer 40226 (WeChat deems the user risky).
 */
export function mintSandboxLoginCode(
  sim: SimulatorHandle,
  options: { appId: string; openid?: string; unionid?: string; risky?: boolean },
): { code: string; openid: string } {
  const openid = checkMiniProgram(sim, options.appId, options.openid);
  const code = randomToken(24);
  bounded(stateOf(sim).loginCodes, sim.now()).set(code, {
    appId: options.appId,
    openid,
    unionid: options.unionid,
    risky: options.risky === true,
    expiresAt: sim.now() + CODE_LIFETIME_MS,
    used: false,
  });
  return { code, openid };
}

/** Stands in for the getPhoneNumber button: a single-use phone code (5 minutes) for `phoneNumber`. */
export function mintSandboxPhoneCode(
  sim: SimulatorHandle,
  options: { appId: string; openid?: string; phoneNumber?: string },
): { code: string; phoneNumber: string } {
  const openid = checkMiniProgram(sim, options.appId, options.openid);
  const phoneNumber = options.phoneNumber ?? SANDBOX_PHONE_NUMBER;
  if (!/^\d{5,15}$/.test(phoneNumber)) throw new Error('phoneNumber must be 5 to 15 digits');
  const code = randomToken(32);
  bounded(stateOf(sim).phoneCodes, sim.now()).set(code, {
    appId: options.appId,
    openid,
    phoneNumber,
    expiresAt: sim.now() + CODE_LIFETIME_MS,
    used: false,
  });
  return { code, phoneNumber };
}

/** `GET /sns/jscode2session` and the code helpers' control routes. */
export function registerMiniProgramLoginRoutes(scope: FastifyInstance, sim: SimulatorHandle): void {
  scope.get('/sns/jscode2session', async (request) => {
    const q = request.query as Record<string, unknown>;
    const appId = str(q.appid);
    if (!appId) return sim.wechatError(41002, 'appid missing');
    const injected = sim.injectedError('/sns/jscode2session', appId);
    if (injected) return injected;
    const secret = str(q.secret);
    if (!secret) return sim.wechatError(41004, 'appsecret missing');
    const jsCode = str(q.js_code);
    if (!jsCode) return sim.wechatError(41008, 'missing code');
    if (str(q.grant_type) !== 'authorization_code') return sim.wechatError(40002, 'invalid grant_type');
    if (!sim.hasApp(appId) || sim.appKind(appId) !== 'miniProgram')
      return sim.wechatError(40013, 'invalid appid');
    if (!sim.verifyAppSecret(appId, secret)) return sim.wechatError(40125, 'invalid appsecret');
    const state = stateOf(sim);
    const grant = state.loginCodes.get(jsCode);
    if (!grant || grant.appId !== appId || grant.expiresAt <= sim.now())
      return sim.wechatError(40029, 'invalid code');
    if (grant.used) return sim.wechatError(40163, 'code been used');
    const userKey = `${appId} ${grant.openid}`;
    const recent = (state.logins.get(userKey) ?? []).filter((at) => at > sim.now() - 60_000);
    if (recent.length >= LOGINS_PER_MINUTE) return sim.wechatError(45011, 'api minute-quota reach limit');
    recent.push(sim.now());
    state.logins.set(userKey, recent);
    grant.used = true;
    if (grant.risky) return sim.wechatError(40226, 'high risk user');
    const sessionKey = randomBytes(16).toString('base64');
    const keys = state.sessionKeys;
    if (keys.size >= MAX_CODES) keys.delete(keys.keys().next().value as string);
    keys.set(sessionKey, userKey);
    return {
      openid: grant.openid,
      session_key: sessionKey,
      ...(grant.unionid !== undefined ? { unionid: grant.unionid } : {}),
    };
  });

  scope.post('/sandbox/wxa/login-code', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    try {
      return mintSandboxLoginCode(sim, {
        appId: String(body.appid ?? ''),
        openid: typeof body.openid === 'string' ? body.openid : undefined,
        unionid: typeof body.unionid === 'string' ? body.unionid : undefined,
        risky: body.risky === true,
      });
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
  });

  scope.post('/sandbox/wxa/phone-code', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    try {
      return mintSandboxPhoneCode(sim, {
        appId: String(body.appid ?? ''),
        openid: typeof body.openid === 'string' ? body.openid : undefined,
        phoneNumber: typeof body.phoneNumber === 'string' ? body.phoneNumber : undefined,
      });
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
  });
}

/** The Mini Program APIs that take an access_token. An Official Account's token gets 48001, as on WeChat. */
export const WXA_ROUTES: BusinessRoute[] = [
  wxa('POST', '/wxa/business/getuserphonenumber', (ctx) => {
    const code = str(jsonBody(ctx).code);
    if (!code) reject(47001, 'data format error');
    const grant = ctx.state.phoneCodes.get(code);
    if (!grant || grant.appId !== ctx.request.appId || grant.expiresAt <= ctx.now || grant.used)
      reject(40029, 'invalid code');
    grant.used = true;
    const phone = grant.phoneNumber ?? SANDBOX_PHONE_NUMBER;
    return {
      ...OK,
      phone_info: {
        phoneNumber: phone,
        purePhoneNumber: phone,
        countryCode: '86',
        watermark: { timestamp: Math.floor(ctx.now / 1000), appid: ctx.request.appId },
      },
    };
  }),

  wxa('POST', '/cgi-bin/message/subscribe/send', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    if (typeof body.template_id !== 'string' || !/^[\w-]{43}$/.test(body.template_id))
      reject(40037, 'invalid template id');
    if (!isObject(body.data) || Object.keys(body.data).length === 0)
      reject(47003, 'argument invalid! data is empty');
    for (const entry of Object.values(body.data)) {
      if (!isObject(entry) || typeof entry.value !== 'string')
        reject(47003, 'argument invalid! data.value invalid');
    }
    if (body.page !== undefined && typeof body.page !== 'string') reject(47001, 'data format error');
    if (
      body.miniprogram_state !== undefined &&
      !['developer', 'trial', 'formal'].includes(String(body.miniprogram_state))
    ) {
      reject(47003, 'argument invalid! miniprogram_state invalid');
    }
    if (user.subscribe === 0) reject(43101, 'user refuse to accept the msg');
    return { ...OK, msgid: 3_000_000_000 + ++ctx.state.seq };
  }),

  wxa('POST', '/wxa/getwxacodeunlimit', (ctx) => {
    const body = jsonBody(ctx);
    const scene = body.scene;
    if (
      typeof scene !== 'string' ||
      scene.length === 0 ||
      scene.length > 32 ||
      !/^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$/.test(scene)
    ) {
      reject(40097, 'invalid args');
    }
    checkPage(body.page, body.check_path !== false, 41030, 'invalid page');
    checkEnvVersion(body.env_version);
    const width = body.width === undefined ? 430 : body.width;
    if (typeof width !== 'number' || !Number.isSafeInteger(width) || width < 280 || width > 1280)
      reject(40097, 'invalid args');
    return { binary: wxacodePng(scene, Math.min(width, 430)), contentType: 'image/png' };
  }),

  wxa('POST', '/wxa/generatescheme', (ctx) => {
    const body = jsonBody(ctx);
    const jump = body.jump_wxa;
    if (jump !== undefined) {
      if (!isObject(jump)) reject(47001, 'data format error');
      checkPage(jump.path, true, 40165, 'invalid weapp pagepath');
      checkQuery(jump.query);
      checkEnvVersion(jump.env_version);
    }
    checkExpiry(ctx, body);
    return { ...OK, openlink: `weixin://dl/business/?t=${randomToken(9)}` };
  }),

  wxa('POST', '/wxa/generate_urllink', (ctx) => {
    const body = jsonBody(ctx);
    checkPage(body.path, true, 40165, 'invalid weapp pagepath');
    checkQuery(body.query);
    checkEnvVersion(body.env_version);
    checkExpiry(ctx, body);
    return { ...OK, url_link: `https://wxaurl.cn/${randomToken(9)}` };
  }),

  wxa('POST', '/wxa/msg_sec_check', (ctx) => {
    const body = jsonBody(ctx);
    if (body.version !== 2) reject(40097, 'invalid args: version must be 2');
    checkScene(body.scene);
    userOf(ctx, body.openid);
    const content = body.content;
    if (typeof content !== 'string' || content.length === 0) reject(40097, 'invalid args');
    if (Buffer.byteLength(content, 'utf8') > 2500 * 4) reject(87014, 'risky content');
    const risky = content.includes(SANDBOX_RISKY_WORD);
    const verdict = risky ? { suggest: 'risky', label: 20001 } : { suggest: 'pass', label: 100 };
    return {
      ...OK,
      result: verdict,
      detail: [{ strategy: 'content_model', errcode: 0, ...verdict, prob: risky ? 90 : 0 }],
      trace_id: randomToken(18),
    };
  }),

  wxa('POST', '/wxa/media_check_async', (ctx) => {
    const body = jsonBody(ctx);
    if (body.version !== 2) reject(40097, 'invalid args: version must be 2');
    if (typeof body.media_url !== 'string' || !/^https?:\/\/\S+$/.test(body.media_url))
      reject(40097, 'invalid args');
    if (body.media_type !== 1 && body.media_type !== 2) reject(40097, 'invalid args');
    checkScene(body.scene);
    userOf(ctx, body.openid);
    return { ...OK, trace_id: randomToken(18) };
  }),
];

function wxa(method: 'POST', path: string, handler: (ctx: Ctx) => object): BusinessRoute {
  return route(method, path, (ctx) => {
    if (ctx.sim.appKind(ctx.request.appId) !== 'miniProgram') reject(48001, 'api unauthorized');
    return handler(ctx);
  });
}

function checkMiniProgram(sim: SimulatorHandle, appId: string, openid: string | undefined): string {
  if (!sim.hasApp(appId)) throw new Error(`unknown app ${appId}`);
  if (sim.appKind(appId) !== 'miniProgram') throw new Error(`${appId} is not a Mini Program`);
  const user = openid ?? sandboxOpenid(1);
  if (!/^[\w-]{1,64}$/.test(user)) throw new Error('openid must be 1 to 64 letters, digits, _ or -');
  return user;
}

/** A page of the published Mini Program: `pages/…`, no leading slash, no query. */
function checkPage(page: unknown, checkPath: boolean, errcode: number, errmsg: string): void {
  if (page === undefined || page === '') return;
  if (typeof page !== 'string' || page.startsWith('/') || page.includes('?')) reject(errcode, errmsg);
  if (checkPath && !/^pages\/[\w\-/]+$/.test(page)) reject(errcode, errmsg);
}

function checkQuery(query: unknown): void {
  if (query === undefined) return;
  if (typeof query !== 'string' || query.length > 1024 || !/^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~%]*$/.test(query))
    reject(40212, 'invalid query');
}

function checkEnvVersion(value: unknown): void {
  if (value !== undefined && value !== 'release' && value !== 'trial' && value !== 'develop')
    reject(40097, 'invalid args: env_version');
}

function checkScene(value: unknown): void {
  if (value !== 1 && value !== 2 && value !== 3 && value !== 4) reject(40097, 'invalid args: scene');
}

function checkExpiry(ctx: Ctx, body: Record<string, unknown>): void {
  if (body.expire_type === 1) {
    const days = body.expire_interval;
    if (typeof days !== 'number' || !Number.isSafeInteger(days) || days < 1 || days > 30)
      reject(40097, 'invalid args: expire_interval');
  } else if (body.expire_type === 0 || body.expire_time !== undefined) {
    const at = body.expire_time;
    const now = Math.floor(ctx.now / 1000);
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || at <= now || at > now + 30 * 86_400)
      reject(40097, 'invalid args: expire_time');
  }
}

function bounded(map: Map<string, MiniProgramCode>, now: number): Map<string, MiniProgramCode> {
  if (map.size >= MAX_CODES) {
    for (const [key, value] of map) if (value.expiresAt < now) map.delete(key);
    while (map.size >= MAX_CODES) map.delete(map.keys().next().value as string);
  }
  return map;
}

/** A grayscale PNG of `size` pixels with a 21×21 block pattern drawn from the scene: a stand-in wxacode. */
function wxacodePng(scene: string, size: number): Buffer {
  const bits = createHash('sha256').update(scene).digest();
  const modules = 21;
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(size + 1); // filter byte 0, then one byte per pixel
    const my = Math.floor((y * modules) / size);
    for (let x = 0; x < size; x++) {
      const mx = Math.floor((x * modules) / size);
      const bit = my * modules + mx;
      const dark = ((bits[(bit >> 3) % bits.length] ?? 0) >> (bit & 7)) & 1;
      row[x + 1] = dark ? 0 : 255;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('tEXt', Buffer.from(`scene\0${scene}`, 'latin1')),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([length, body, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
