import type { BusinessRoute } from './business-contract';
import { isObject, jsonBody, OK, randomToken, reject, route } from './business-route';
import { extensionOf, fileResult, forget, store, typedUpload, type UploadRules } from './uploads';

const MATERIAL: UploadRules = {
  image: { limit: 10 * 1024 * 1024, extensions: ['jpg', 'jpeg', 'png', 'gif', 'bmp'] },
  voice: { limit: 2 * 1024 * 1024, extensions: ['mp3', 'wma', 'wav', 'amr'] },
  video: { limit: 10 * 1024 * 1024, extensions: ['mp4'] },
  thumb: { limit: 64 * 1024, extensions: ['jpg', 'jpeg'] },
};

/** `/cgi-bin/material/*`: permanent material. */
export const MATERIAL_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/material/add_material', (ctx) => {
    const { type, file, part, all } = typedUpload(ctx, MATERIAL);
    if (type === 'video') {
      const description = all.find((p) => p.name === 'description' && p.filename === undefined);
      let parsed: unknown;
      try {
        parsed = description ? JSON.parse(description.data.toString('utf8')) : undefined;
      } catch {
        parsed = undefined;
      }
      if (!isObject(parsed) || typeof parsed.title !== 'string' || !parsed.title)
        reject(40130, 'invalid video description');
      file.title = parsed.title;
      file.introduction = typeof parsed.introduction === 'string' ? parsed.introduction : '';
    }
    if (type === 'image')
      file.url = `http://mmbiz.qpic.cn/mmbiz_${extensionOf(part.filename)}/${randomToken(40)}/0`;
    store(ctx.app, ctx.app.materials, file);
    return file.url ? { media_id: file.id, url: file.url } : { media_id: file.id };
  }),
  route('POST', '/cgi-bin/material/get_material', (ctx) => {
    const file = ctx.app.materials.get(String(jsonBody(ctx).media_id ?? ''));
    if (!file) reject(40007, 'invalid media_id');
    if (file.type === 'video') {
      return {
        title: file.title,
        description: file.introduction,
        down_url: `http://www.qq.com/sandbox/${file.id}.mp4`,
      };
    }
    return fileResult(file);
  }),
  route('POST', '/cgi-bin/material/del_material', (ctx) => {
    if (!forget(ctx.app, ctx.app.materials, String(jsonBody(ctx).media_id ?? '')))
      reject(40007, 'invalid media_id');
    return OK;
  }),
  route('GET', '/cgi-bin/material/get_materialcount', (ctx) => {
    const count = (type: string): number =>
      [...ctx.app.materials.values()].filter((f) => f.type === type).length;
    return {
      voice_count: count('voice'),
      video_count: count('video'),
      image_count: count('image'),
      news_count: 0,
    };
  }),
  route('POST', '/cgi-bin/material/batchget_material', (ctx) => {
    const body = jsonBody(ctx);
    const { type } = body;
    if (type !== 'image' && type !== 'video' && type !== 'voice' && type !== 'news' && type !== 'thumb') {
      reject(40004, 'invalid media type');
    }
    const offset = Number(body.offset ?? 0);
    const count = Number(body.count ?? 20);
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      !Number.isSafeInteger(count) ||
      count < 1 ||
      count > 20
    ) {
      reject(47001, 'data format error');
    }
    const all = [...ctx.app.materials.values()].filter((f) => f.type === type).reverse();
    const page = all.slice(offset, offset + count);
    return {
      total_count: all.length,
      item_count: page.length,
      item: page.map((f) => ({
        media_id: f.id,
        name: f.filename,
        update_time: Math.floor(f.createdAt / 1000),
        ...(f.url ? { url: f.url } : {}),
      })),
    };
  }),
];
