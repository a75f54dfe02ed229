import type { BusinessRoute } from './business-contract';
import { bytes, jsonBody, OK, randomToken, reject, route } from './business-route';

const MAX_SHORT_KEY_SECONDS = 2_592_000;

/** `/cgi-bin/shorten/*`: short keys for long data. */
export const SHORTEN_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/shorten/gen', (ctx) => {
    const body = jsonBody(ctx);
    const longData = body.long_data;
    if (typeof longData !== 'string' || longData.length === 0 || bytes(longData) > 4096)
      reject(47001, 'data format error');
    const expireSeconds =
      body.expire_seconds === undefined ? MAX_SHORT_KEY_SECONDS : Number(body.expire_seconds);
    if (!Number.isSafeInteger(expireSeconds) || expireSeconds < 1 || expireSeconds > MAX_SHORT_KEY_SECONDS) {
      reject(47001, 'data format error');
    }
    const shortKey = randomToken(12);
    ctx.app.shortKeys.set(shortKey, {
      longData,
      createTime: Math.floor(ctx.now / 1000),
      expiresAt: ctx.now + expireSeconds * 1000,
    });
    return { ...OK, short_key: shortKey };
  }),
  route('POST', '/cgi-bin/shorten/fetch', (ctx) => {
    const entry = ctx.app.shortKeys.get(String(jsonBody(ctx).short_key ?? ''));
    if (!entry || entry.expiresAt <= ctx.now) reject(40003, 'invalid short_key');
    return {
      ...OK,
      long_data: entry.longData,
      create_time: entry.createTime,
      expire_seconds: Math.floor((entry.expiresAt - ctx.now) / 1000),
    };
  }),
];
