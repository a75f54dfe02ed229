import { Readable } from 'node:stream';
import type { MultipartUpload } from '../multipart';
import type { WechatBinary, WechatBinaryStream, WechatCaller } from '../wechat-request';

/** Kinds of temporary media. */
export type TemporaryMediaType = 'image' | 'voice' | 'video' | 'thumb';

/** A file to upload: `stream` (+ optional `size`) or `data`; the form field is always `media`. */
export type MediaFile = Omit<MultipartUpload, 'field' | 'extraFields'>;

/**
 * Size limits of temporary media, in bytes (WeChat): image 10 MB (png/jpeg/jpg/gif), voice 2 MB (amr/mp3,
 * ≤ 60 s), video 10 MB (mp4), thumb 64 KB (jpg). Images for articles (`uploadimg`): 1 MB, jpg/png.
 */
export const TEMPORARY_MEDIA_LIMITS: Readonly<Record<TemporaryMediaType, number>> = {
  image: 10 * 1024 * 1024,
  voice: 2 * 1024 * 1024,
  video: 10 * 1024 * 1024,
  thumb: 64 * 1024,
};
export const ARTICLE_IMAGE_LIMIT = 1024 * 1024;

/** An uploaded temporary medium. WeChat keeps it 3 days; the id can be used any number of times meanwhile. */
export interface UploadedMedia {
  type: TemporaryMediaType;
  /** For `thumb`, WeChat calls it `thumb_media_id`; it is copied here. */
  media_id: string;
  /** Unix seconds. */
  created_at: number;
}

/** A downloaded file, or — for a video — the URL WeChat answers with instead of bytes. */
export type MediaContent =
  | { kind: 'file'; contentType: string; filename?: string; data: Buffer }
  | { kind: 'video'; videoUrl: string };

/** Like {@link MediaContent}, streamed. Consume or destroy `stream`. */
export type MediaStream =
  | { kind: 'file'; contentType: string; filename?: string; contentLength?: number; stream: Readable }
  | { kind: 'video'; videoUrl: string };

/**
 * Temporary media (`/cgi-bin/media/*`, kept 3 days). Uploads are streamed (a 10 MB video never sits in
 * memory); downloads come as a Buffer (`get`) or a stream (`getStream`). Default daily quotas: upload 5,000,
 * download 10,000. A streamed upload is sent once: on a token error it fails with `WechatTokenError`
 * (`tokenRepaired: true`) and you retry with a new stream.
 */
export class MediaApi {
  constructor(private readonly client: WechatCaller) {}

  /**
   * `POST /cgi-bin/media/upload?type=…` (multipart field `media`).
   * @throws RangeError when the size is known (`data`, or `size`) and over {@link TEMPORARY_MEDIA_LIMITS}.
   */
  async upload(appId: string, type: TemporaryMediaType, file: MediaFile): Promise<UploadedMedia> {
    checkSize(file, TEMPORARY_MEDIA_LIMITS[type], `a temporary ${type}`);
    const result = await this.client.request<{
      type: TemporaryMediaType;
      media_id?: string;
      thumb_media_id?: string;
      created_at: number | string;
    }>(appId, {
      method: 'POST',
      path: '/cgi-bin/media/upload',
      query: { type },
      multipart: { ...file, field: 'media' } as MultipartUpload,
    });
    return {
      type: result.type,
      media_id: result.media_id ?? result.thumb_media_id ?? '',
      created_at: Number(result.created_at),
    };
  }

  /** `GET /cgi-bin/media/get`: the file in memory (40007 for an unknown or expired id). */
  async get(appId: string, mediaId: string): Promise<MediaContent> {
    const binary = await this.client.request(appId, {
      method: 'GET',
      path: '/cgi-bin/media/get',
      query: { media_id: mediaId },
      responseType: 'buffer',
    });
    const videoUrl = videoUrlOf(binary);
    if (videoUrl !== undefined) return { kind: 'video', videoUrl };
    return { kind: 'file', contentType: binary.contentType, filename: binary.filename, data: binary.data };
  }

  /** `GET /cgi-bin/media/get`, streamed: for large files, piped on without holding them. */
  async getStream(appId: string, mediaId: string): Promise<MediaStream> {
    const download = await this.client.request(appId, {
      method: 'GET',
      path: '/cgi-bin/media/get',
      query: { media_id: mediaId },
      responseType: 'stream',
    });
    if (/json|text\/plain/i.test(download.contentType)) {
      const chunks: Buffer[] = [];
      for await (const chunk of download.stream) chunks.push(Buffer.from(chunk as Uint8Array));
      const data = Buffer.concat(chunks);
      const videoUrl = videoUrlOf({ contentType: download.contentType, data });
      if (videoUrl !== undefined) return { kind: 'video', videoUrl };
      return {
        kind: 'file',
        contentType: download.contentType,
        filename: download.filename,
        stream: Readable.from([data]),
      };
    }
    return {
      kind: 'file',
      contentType: download.contentType,
      filename: download.filename,
      contentLength: download.contentLength,
      stream: download.stream,
    };
  }

  /**
   * `POST /cgi-bin/media/uploadimg`: an image for article bodies (jpg/png, ≤ 1 MB); resolves to its URL.
   * Does not count against the material limit.
   */
  async uploadImage(appId: string, file: MediaFile): Promise<string> {
    checkSize(file, ARTICLE_IMAGE_LIMIT, 'an article image');
    const result = await this.client.request<{ url: string }>(appId, {
      method: 'POST',
      path: '/cgi-bin/media/uploadimg',
      multipart: { ...file, field: 'media' } as MultipartUpload,
    });
    return result.url;
  }
}

/** @throws RangeError when the file's known size is over `limit`. */
export function checkSize(file: MediaFile, limit: number, what: string): void {
  const size = file.data !== undefined ? file.data.byteLength : file.size;
  if (size !== undefined && size > limit) {
    throw new RangeError(`${what} is limited to ${limit} bytes; this one has ${size}`);
  }
}

function videoUrlOf(
  binary: Pick<WechatBinary | WechatBinaryStream, 'contentType'> & { data: Buffer },
): string | undefined {
  const parsed = jsonAnswerOf(binary);
  return typeof parsed?.video_url === 'string' ? parsed.video_url : undefined;
}

/**
 * The JSON object a download answered instead of a file (WeChat sends a video's URL, a news item, … as JSON
 * or text/plain), or undefined when the answer is a file.
 */
export function jsonAnswerOf(binary: {
  contentType: string;
  data: Buffer;
}): Record<string, unknown> | undefined {
  if (!/json|text\/plain/i.test(binary.contentType)) return undefined;
  try {
    const parsed: unknown = JSON.parse(binary.data.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
