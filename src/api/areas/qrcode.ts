import type { WechatCaller } from '../wechat-request';

/** Longest life of a temporary QR code: 30 days, in seconds. */
export const QR_MAX_EXPIRE_SECONDS = 2_592_000;
/** Largest numeric scene of a permanent QR code. */
export const QR_LIMIT_SCENE_MAX = 100_000;
/** Largest numeric scene of a temporary QR code (32-bit, non-zero). */
export const QR_SCENE_MAX = 0xffff_ffff;
/** Longest string scene, in characters. */
export const QR_SCENE_STR_MAX = 64;

/** `qrcode/create`'s answer. Show it with {@link showqrcodeUrl}`(ticket)` or encode `url` yourself. */
export interface QrCodeTicket {
  ticket: string;
  /** Temporary codes only. */
  expire_seconds?: number;
  /** The URL the QR code encodes. */
  url: string;
}

/**
 * The QR image of a ticket: `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=…` (no access_token; anyone
 * holding the ticket can fetch the image).
 */
export function showqrcodeUrl(ticket: string): string {
  return `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`;
}

/**
 * Parametric QR codes (`POST /cgi-bin/qrcode/create`, 100,000 a day by default). Scanning one sends the
 * `subscribe` event (EventKey `qrscene_<scene>`) to a new follower, `SCAN` (EventKey `<scene>`) to a follower.
 * Scenes and lifetimes are checked here, before calling WeChat.
 */
export class QrCodeApi {
  constructor(private readonly client: WechatCaller) {}

  /**
   * A temporary code (`QR_SCENE` for a number, `QR_STR_SCENE` for a string).
   * @param scene a non-zero 32-bit integer (1..4294967295), or a string of 1 to 64 characters.
   * @param expireSeconds 1..2,592,000 (30 days); WeChat's default when omitted is 30 s.
   * @throws RangeError for a scene or lifetime out of those ranges.
   */
  createTemporary(appId: string, scene: number | string, expireSeconds?: number): Promise<QrCodeTicket> {
    if (
      expireSeconds !== undefined &&
      !(Number.isSafeInteger(expireSeconds) && expireSeconds >= 1 && expireSeconds <= QR_MAX_EXPIRE_SECONDS)
    ) {
      throw new RangeError(`expire_seconds must be an integer from 1 to ${QR_MAX_EXPIRE_SECONDS}`);
    }
    const body =
      typeof scene === 'number'
        ? { action_name: 'QR_SCENE', action_info: { scene: { scene_id: checkScene(scene, QR_SCENE_MAX) } } }
        : { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: checkSceneStr(scene) } } };
    return this.create(
      appId,
      expireSeconds === undefined ? body : { expire_seconds: expireSeconds, ...body },
    );
  }

  /**
   * A permanent code (`QR_LIMIT_SCENE` for a number, `QR_LIMIT_STR_SCENE` for a string). WeChat keeps at most
   * 100,000 of them per account.
   * @param scene an integer 1..100000, or a string of 1 to 64 characters.
   * @throws RangeError for a scene out of those ranges.
   */
  createPermanent(appId: string, scene: number | string): Promise<QrCodeTicket> {
    return this.create(
      appId,
      typeof scene === 'number'
        ? {
            action_name: 'QR_LIMIT_SCENE',
            action_info: { scene: { scene_id: checkScene(scene, QR_LIMIT_SCENE_MAX) } },
          }
        : { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: checkSceneStr(scene) } } },
    );
  }

  /** {@link showqrcodeUrl}, for convenience. */
  showUrl(ticket: string): string {
    return showqrcodeUrl(ticket);
  }

  private create(appId: string, body: object): Promise<QrCodeTicket> {
    return this.client.request<QrCodeTicket>(appId, {
      method: 'POST',
      path: '/cgi-bin/qrcode/create',
      json: body,
    });
  }
}

function checkScene(scene: number, max: number): number {
  if (!Number.isSafeInteger(scene) || scene < 1 || scene > max) {
    throw new RangeError(`scene_id must be an integer from 1 to ${max}`);
  }
  return scene;
}

function checkSceneStr(scene: string): string {
  const length = [...scene].length;
  if (length < 1 || length > QR_SCENE_STR_MAX) {
    throw new RangeError(`scene_str must have 1 to ${QR_SCENE_STR_MAX} characters`);
  }
  return scene;
}
