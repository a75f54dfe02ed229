import type { BusinessResult } from './business-contract';
import type { AppBusinessState, StoredFile } from './business-state';
import { randomToken, reject, str, type Ctx } from './business-route';

/* Uploads and stored files, shared by media (temporary) and material (permanent). */

/** Bytes of media + material kept per app before the oldest are forgotten (a long-running sandbox stays bounded). */
const MAX_STORED_BYTES_PER_APP = 256 * 1024 * 1024;
const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  amr: 'audio/amr',
  mp3: 'audio/mpeg',
  speex: 'audio/speex',
  wma: 'audio/x-ms-wma',
  wav: 'audio/wav',
  mp4: 'video/mp4',
};

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/**
 * Splits a multipart/form-data body at its boundary with Buffer searches; only the small part headers are
 * decoded to text, never the whole body.
 */
export function parseMultipart(body: Buffer, contentTypeHeader: string): MultipartPart[] | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentTypeHeader);
  const token = boundary?.[1] ?? boundary?.[2];
  if (!token) return null;
  const delimiter = Buffer.from(`--${token}`);
  const separator = Buffer.from(`\r\n--${token}`);
  const headerEnd = Buffer.from('\r\n\r\n');
  let position = body.indexOf(delimiter);
  if (position < 0) return null;
  const parts: MultipartPart[] = [];
  for (;;) {
    position += delimiter.length;
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return parts; // "--": the closing delimiter
    if (body[position] !== 0x0d || body[position + 1] !== 0x0a) return null;
    const headersStart = position + 2;
    const headersEnd = body.indexOf(headerEnd, headersStart);
    if (headersEnd < 0 || headersEnd - headersStart > 8192) return null;
    const headers = body.subarray(headersStart, headersEnd).toString('utf8');
    const dataStart = headersEnd + headerEnd.length;
    const next = body.indexOf(separator, dataStart);
    if (next < 0) return null;
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) return null;
    parts.push({
      name,
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
      contentType: /content-type:\s*([^\r\n;]+)/i.exec(headers)?.[1]?.trim(),
      data: body.subarray(dataStart, next),
    });
    position = next + 2;
  }
}

export function extensionOf(filename: string | undefined): string {
  return /\.([A-Za-z0-9]+)$/.exec(filename ?? '')?.[1]?.toLowerCase() ?? '';
}

/** Upload rules per media type: the size limit and the accepted file extensions. */
export type UploadRules = Record<string, { limit: number; extensions: string[] }>;

/** The upload of a `?type=` request, checked against that type's rules (40004 for a type without rules). */
export function typedUpload(
  ctx: Ctx,
  rules: UploadRules,
): { type: string; file: StoredFile; part: MultipartPart; all: MultipartPart[] } {
  const type = str(ctx.request.query.type);
  const typeRules = type === undefined ? undefined : rules[type];
  if (!type || !typeRules) reject(40004, 'invalid media type');
  const { part, all } = mediaPart(ctx, typeRules);
  return { type, file: storedFile(type, part, ctx.now), part, all };
}

/** The `media` file of an upload, checked against the type's size and extension rules. */
export function mediaPart(
  ctx: Ctx,
  rules: { limit: number; extensions: string[] },
): { part: MultipartPart; all: MultipartPart[] } {
  const contentType = String(ctx.request.headers['content-type'] ?? '');
  if (!/^multipart\/form-data/i.test(contentType)) reject(41005, 'media data missing');
  const parts = parseMultipart(ctx.request.body, contentType);
  if (!parts) reject(47001, 'data format error');
  const part = parts.find((p) => p.name === 'media' && p.filename !== undefined);
  if (!part || part.data.length === 0) reject(41005, 'media data missing');
  if (!rules.extensions.includes(extensionOf(part.filename))) reject(40005, 'invalid file type');
  if (part.data.length > rules.limit) reject(40006, 'invalid meida size');
  return { part, all: parts };
}

export function store(app: AppBusinessState, into: Map<string, StoredFile>, file: StoredFile): void {
  into.set(file.id, file);
  app.storedBytes += file.data.length;
  // forget the oldest files (media first, then material) beyond the memory budget
  for (const map of [app.media, app.materials]) {
    for (const [id, old] of map) {
      if (app.storedBytes <= MAX_STORED_BYTES_PER_APP || id === file.id) break;
      map.delete(id);
      app.storedBytes -= old.data.length;
    }
  }
}

export function forget(app: AppBusinessState, from: Map<string, StoredFile>, id: string): boolean {
  const file = from.get(id);
  if (!file) return false;
  from.delete(id);
  app.storedBytes -= file.data.length;
  return true;
}

export function storedFile(type: string, part: MultipartPart, now: number): StoredFile {
  const extension = extensionOf(part.filename);
  return {
    id: randomToken(48),
    type,
    // a copy: the upload buffer is not kept alive through a view of it
    data: Buffer.from(part.data),
    contentType: part.contentType ?? CONTENT_TYPES[extension] ?? 'application/octet-stream',
    filename: part.filename ?? `media.${extension}`,
    createdAt: now,
  };
}

export function fileResult(file: StoredFile): BusinessResult {
  return {
    binary: file.data,
    contentType: file.contentType,
    headers: { 'content-disposition': `attachment; filename="${file.filename.replace(/"/g, '')}"` },
  };
}
