import type { BusinessRoute } from './business-contract';
import { isObject, jsonBody, randomToken, reject, route } from './business-route';

const MAX_QR_EXPIRE_SECONDS = 2_592_000;

/** `/cgi-bin/qrcode/create`: temporary and permanent QR codes. */
export const QRCODE_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/qrcode/create', (ctx) => {
    const body = jsonBody(ctx);
    const action = body.action_name;
    const scene =
      isObject(body.action_info) && isObject(body.action_info.scene) ? body.action_info.scene : undefined;
    if (!scene) reject(47001, 'data format error');
    const temporary = action === 'QR_SCENE' || action === 'QR_STR_SCENE';
    if (!temporary && action !== 'QR_LIMIT_SCENE' && action !== 'QR_LIMIT_STR_SCENE')
      reject(40053, 'invalid action name');
    if (action === 'QR_SCENE' || action === 'QR_LIMIT_SCENE') {
      const id = scene.scene_id;
      const max = action === 'QR_SCENE' ? 0xffff_ffff : 100_000;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > max)
        reject(40054, 'invalid scene id');
    } else {
      const text = scene.scene_str;
      if (typeof text !== 'string' || [...text].length < 1 || [...text].length > 64)
        reject(40054, 'invalid scene str');
    }
    let expireSeconds: number | undefined;
    if (temporary) {
      expireSeconds = body.expire_seconds === undefined ? 30 : Number(body.expire_seconds);
      if (
        !Number.isSafeInteger(expireSeconds) ||
        expireSeconds < 1 ||
        expireSeconds > MAX_QR_EXPIRE_SECONDS
      ) {
        reject(40055, 'invalid expire_seconds');
      }
    }
    const ticket = `gQ${randomToken(72)}`;
    const url = `http://weixin.qq.com/q/${randomToken(18)}`;
    return temporary ? { ticket, expire_seconds: expireSeconds, url } : { ticket, url };
  }),
];
