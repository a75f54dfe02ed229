import type { MultipartUpload } from '../multipart';
import type { WechatCaller } from '../wechat-request';
import { checkSize, jsonAnswerOf, type MediaFile } from './media';

/** Kinds of permanent material that are uploaded as files. */
export type MaterialType = 'image' | 'voice' | 'video' | 'thumb';

/**
 * Size limits of permanent material, in bytes (WeChat): image 10 MB (bmp/png/jpeg/jpg/gif), voice 2 MB
 * (mp3/wma/wav/amr, ≤ 60 s), video 10 MB (mp4), thumb 64 KB (jpg). Counts: 100,000 images and articles,
 * 1,000 of each other kind.
 */
export const MATERIAL_LIMITS: Readonly<Record<MaterialType, number>> = {
  image: 10 * 1024 * 1024,
  voice: 2 * 1024 * 1024,
  video: 10 * 1024 * 1024,
  thumb: 64 * 1024,
};
/** Most items per `batchget_material` page. */
export const MATERIAL_PAGE_LIMIT = 20;

/** What `add_material` answers. `url` is set for images. */
export interface AddedMaterial {
  media_id: string;
  url?: string;
}

/** A news article of a permanent news material. */
export interface MaterialNewsItem {
  title: string;
  thumb_media_id?: string;
  author?: string;
  digest?: string;
  content?: string;
  url?: string;
  content_source_url?: string;
  [field: string]: unknown;
}

/** A permanent material's content: the file, a video's description and download URL, or news articles. */
export type MaterialContent =
  | { kind: 'file'; contentType: string; filename?: string; data: Buffer }
  | { kind: 'video'; title: string; description: string; down_url: string }
  | { kind: 'news'; news_item: MaterialNewsItem[] };

/** `get_materialcount`. */
export interface MaterialCount {
  voice_count: number;
  video_count: number;
  image_count: number;
  news_count: number;
}

/** One item of `batchget_material`: files carry `name`/`url`, news carry `content.news_item`. */
export interface MaterialListItem {
  media_id: string;
  name?: string;
  url?: string;
  update_time: number;
  content?: { news_item: MaterialNewsItem[] };
}

export interface MaterialPage {
  total_count: number;
  item_count: number;
  item: MaterialListItem[];
}

/** Permanent material (`/cgi-bin/material/*`). Uploads are streamed like temporary media. */
export class MaterialApi {
  constructor(private readonly client: WechatCaller) {}

  /**
   * `POST /cgi-bin/material/add_material?type=…`. A video needs `description` (title, introduction).
   * @throws RangeError when the known size is over {@link MATERIAL_LIMITS}, or a video has no description.
   */
  async add(
    appId: string,
    type: MaterialType,
    file: MediaFile,
    description?: { title: string; introduction: string },
  ): Promise<AddedMaterial> {
    checkSize(file, MATERIAL_LIMITS[type], `a permanent ${type}`);
    if (type === 'video' && description === undefined) {
      throw new RangeError('a permanent video needs a description ({ title, introduction })');
    }
    const result = await this.client.request<AddedMaterial>(appId, {
      method: 'POST',
      path: '/cgi-bin/material/add_material',
      query: { type },
      multipart: {
        ...file,
        field: 'media',
        extraFields: description ? { description: JSON.stringify(description) } : undefined,
      } as MultipartUpload,
    });
    return result.url === undefined
      ? { media_id: result.media_id }
      : { media_id: result.media_id, url: result.url };
  }

  /** `POST /cgi-bin/material/get_material`. */
  async get(appId: string, mediaId: string): Promise<MaterialContent> {
    const binary = await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/material/get_material',
      json: { media_id: mediaId },
      responseType: 'buffer',
    });
    const parsed = jsonAnswerOf(binary);
    if (parsed && Array.isArray(parsed.news_item)) {
      return { kind: 'news', news_item: parsed.news_item as MaterialNewsItem[] };
    }
    if (parsed && typeof parsed.down_url === 'string') {
      return {
        kind: 'video',
        title: String(parsed.title ?? ''),
        description: String(parsed.description ?? ''),
        down_url: parsed.down_url,
      };
    }
    return { kind: 'file', contentType: binary.contentType, filename: binary.filename, data: binary.data };
  }

  /** `POST /cgi-bin/material/del_material`. */
  async delete(appId: string, mediaId: string): Promise<void> {
    await this.client.request(appId, {
      method: 'POST',
      path: '/cgi-bin/material/del_material',
      json: { media_id: mediaId },
    });
  }

  /** `GET /cgi-bin/material/get_materialcount`. */
  async count(appId: string): Promise<MaterialCount> {
    const result = await this.client.request<MaterialCount>(appId, {
      method: 'GET',
      path: '/cgi-bin/material/get_materialcount',
    });
    return {
      voice_count: result.voice_count,
      video_count: result.video_count,
      image_count: result.image_count,
      news_count: result.news_count,
    };
  }

  /**
   * `POST /cgi-bin/material/batchget_material`: a page of one kind, newest first.
   * @throws RangeError for a negative offset or a count outside 1..20.
   */
  batchGet(
    appId: string,
    type: MaterialType | 'news',
    offset = 0,
    count = MATERIAL_PAGE_LIMIT,
  ): Promise<MaterialPage> {
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new RangeError('offset must be a non-negative integer');
    if (!Number.isSafeInteger(count) || count < 1 || count > MATERIAL_PAGE_LIMIT) {
      throw new RangeError(`count must be an integer from 1 to ${MATERIAL_PAGE_LIMIT}`);
    }
    return this.client.request<MaterialPage>(appId, {
      method: 'POST',
      path: '/cgi-bin/material/batchget_material',
      json: { type, offset, count },
    });
  }
}
