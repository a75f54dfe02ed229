import type { Readable } from 'node:stream';
import type { MultipartUpload } from './multipart';

/** A JSON answer of WeChat. */
export type WechatJson = Record<string, unknown>;

/** Query parameters; `undefined` values are left out. Never `access_token` (the client adds it). */
export type WechatQuery = Record<string, string | number | boolean | undefined>;

/** One call to a WeChat API. */
export interface WechatRequest {
  method: 'GET' | 'POST';
  /** Path on the API host, e.g. `/cgi-bin/user/info`. Must not carry `access_token`. */
  path: string;
  query?: WechatQuery;
  /** A JSON body (POST), sent as raw UTF-8: Chinese text is not `\u`-escaped. */
  json?: unknown;
  /** A `multipart/form-data` upload (POST), streamed. */
  multipart?: MultipartUpload;
  /**
   * `json` (default): the parsed answer. `buffer` / `stream`: the bytes of a download (media, QR image); when
   * WeChat answers JSON with an errcode instead, the typed error is thrown all the same.
   */
  responseType?: 'json' | 'buffer' | 'stream';
  /**
   * Whether a -1 (system busy) answer is retried. Default true; never for a streamed upload (the stream is
   * consumed). Set false for calls that must not run twice.
   */
  retryBusy?: boolean;
}

/** A download held in memory. */
export interface WechatBinary {
  /** The Content-Type WeChat sent, e.g. `image/jpeg`. */
  contentType: string;
  /** From Content-Disposition, when WeChat names the file. */
  filename?: string;
  data: Buffer;
}

/** A download as a stream. Consume it or `destroy()` it: it holds a pooled connection until then. */
export interface WechatBinaryStream {
  contentType: string;
  filename?: string;
  /** From Content-Length, when sent. */
  contentLength?: number;
  stream: Readable;
}

/**
 * What the typed areas (`client.menu`, `client.user`, …) need of the client: the calls, not the client itself,
 * so that the areas do not depend on the class that builds them.
 */
export interface WechatCaller {
  request<T = WechatJson>(appId: string, request: WechatRequest & { responseType?: 'json' }): Promise<T>;
  request(appId: string, request: WechatRequest & { responseType: 'buffer' }): Promise<WechatBinary>;
  request(appId: string, request: WechatRequest & { responseType: 'stream' }): Promise<WechatBinaryStream>;
  requestWithoutToken<T = WechatJson>(
    request: WechatRequest & { responseType?: 'json'; redact?: string[] },
  ): Promise<T>;
}
