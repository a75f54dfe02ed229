import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

interface MultipartFileBase {
  /** Form field of the file. Default `media` (what every WeChat upload API reads). */
  field?: string;
  /** File name sent to WeChat; its extension matters (WeChat checks the file type by it). */
  filename: string;
  /** MIME type of the file, e.g. `image/jpeg`. */
  contentType: string;
  /** More text fields, e.g. `description` (JSON) for a permanent video. Sent before the file. */
  extraFields?: Record<string, string>;
}

/**
 * A file to upload as `multipart/form-data`. Give `stream` (a `Readable` or any async iterable of bytes) to
 * upload without holding the file in memory, or `data` for bytes you already hold.
 *
 * A stream can be read once only: if WeChat rejects the access_token, the client replaces the token but cannot
 * resend, and throws `WechatTokenError` with `tokenRepaired: true` — open the stream again and retry. Bytes in
 * `data` are resent automatically. Pass `size` with a stream to send a `Content-Length` (otherwise the upload
 * is chunked); a stream yielding a different number of bytes fails the upload with a RangeError.
 */
export type MultipartUpload = MultipartFileBase &
  (
    | { stream: Readable | AsyncIterable<Uint8Array | string>; size?: number; data?: never }
    | { data: Uint8Array; stream?: never; size?: never }
  );

/** A multipart body ready to send. */
export interface MultipartBody {
  contentType: string;
  /** Known when the upload is bytes or a stream with `size`. */
  contentLength?: number;
  body: Readable;
  /** The error the caller's stream threw (or a size mismatch), if that is what ended the upload. */
  sourceError(): unknown;
}

/** Whether the upload can be sent again (bytes in memory) or only once (a stream). */
export function isReplayable(upload: MultipartUpload): boolean {
  return upload.data !== undefined;
}

/** Builds the body as a stream: preamble, the file's bytes piped through as they come, epilogue. */
export function buildMultipart(upload: MultipartUpload): MultipartBody {
  const boundary = `----wxhub${randomBytes(16).toString('hex')}`;
  const crlf = '\r\n';
  let head = '';
  for (const [name, value] of Object.entries(upload.extraFields ?? {})) {
    head += `--${boundary}${crlf}Content-Disposition: form-data; name="${escapeQuoted(name)}"${crlf}${crlf}${value}${crlf}`;
  }
  head +=
    `--${boundary}${crlf}` +
    `Content-Disposition: form-data; name="${escapeQuoted(upload.field ?? 'media')}"; filename="${escapeQuoted(upload.filename)}"${crlf}` +
    `Content-Type: ${upload.contentType.replace(/[\r\n]/g, '')}${crlf}${crlf}`;
  const preamble = Buffer.from(head, 'utf8');
  const epilogue = Buffer.from(`${crlf}--${boundary}--${crlf}`, 'utf8');

  let failure: unknown;
  const fileSize = upload.data !== undefined ? upload.data.byteLength : upload.size;
  if (fileSize !== undefined && !(Number.isSafeInteger(fileSize) && fileSize >= 0)) {
    throw new RangeError('multipart size must be a non-negative integer');
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield preamble;
    if (upload.data !== undefined) {
      yield upload.data;
    } else {
      let sent = 0;
      try {
        for await (const chunk of upload.stream) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
          sent += bytes.byteLength;
          if (fileSize !== undefined && sent > fileSize) {
            throw new RangeError(`the upload stream yielded more than the ${fileSize} bytes given as size`);
          }
          yield bytes;
        }
      } catch (error) {
        failure = error;
        throw error;
      }
      if (fileSize !== undefined && sent !== fileSize) {
        failure = new RangeError(
          `the upload stream yielded ${sent} bytes, not the ${fileSize} given as size`,
        );
        throw failure;
      }
    }
    yield epilogue;
  }

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: fileSize === undefined ? undefined : preamble.length + fileSize + epilogue.length,
    body: Readable.from(chunks(), { objectMode: false }),
    sourceError: () => failure,
  };
}

/** WHATWG form encoding of a quoted header parameter: `"`, CR and LF are percent-escaped. */
function escapeQuoted(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
