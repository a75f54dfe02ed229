import type { BusinessRoute } from './business-contract';
import { randomToken, reject, route, str } from './business-route';
import { extensionOf, fileResult, mediaPart, store, typedUpload, type UploadRules } from './uploads';

const MEDIA_LIFETIME_MS = 3 * 86_400_000;
const TEMP_MEDIA: UploadRules = {
  image: { limit: 10 * 1024 * 1024, extensions: ['jpg', 'jpeg', 'png', 'gif', 'bmp'] },
  voice: { limit: 2 * 1024 * 1024, extensions: ['amr', 'mp3', 'speex'] },
  video: { limit: 10 * 1024 * 1024, extensions: ['mp4'] },
  thumb: { limit: 64 * 1024, extensions: ['jpg', 'jpeg'] },
};

/** `/cgi-bin/media/*`: temporary media (kept 3 days) and article images. */
export const MEDIA_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/media/upload', (ctx) => {
    const { type, file } = typedUpload(ctx, TEMP_MEDIA);
    store(ctx.app, ctx.app.media, file);
    const createdAt = Math.floor(ctx.now / 1000);
    return type === 'thumb'
      ? { type, thumb_media_id: file.id, created_at: createdAt }
      : { type, media_id: file.id, created_at: createdAt };
  }),
  route('GET', '/cgi-bin/media/get', (ctx) => {
    const file = ctx.app.media.get(str(ctx.request.query.media_id) ?? '');
    if (!file || ctx.now - file.createdAt > MEDIA_LIFETIME_MS) reject(40007, 'invalid media_id');
    if (file.type === 'video') return { video_url: `http://vweixinf.tc.qq.com/${file.id}.mp4` };
    return fileResult(file);
  }),
  route('POST', '/cgi-bin/media/uploadimg', (ctx) => {
    const { part } = mediaPart(ctx, { limit: 1024 * 1024, extensions: ['jpg', 'jpeg', 'png'] });
    return { url: `http://mmbiz.qpic.cn/sz_mmbiz_${extensionOf(part.filename)}/${randomToken(40)}/0` };
  }),
];
