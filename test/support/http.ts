/** A fetched response with its body already read. */
export interface HttpResponse<T = unknown> {
  status: number;
  /** Parsed JSON when the content-type is JSON (undefined for an empty body), else the text. */
  body: T;
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

/** GET `url` asking for JSON. */
export function getJson<T = unknown>(url: string, init: RequestInit = {}): Promise<HttpResponse<T>> {
  return request<T>(url, { ...init, headers: { accept: 'application/json', ...toRecord(init.headers) } });
}

/** POST `body` as JSON to `url` (another method may be given in `init`). */
export function postJson<T = unknown>(
  url: string,
  body: unknown,
  init: RequestInit = {},
): Promise<HttpResponse<T>> {
  return request<T>(url, {
    method: 'POST',
    ...init,
    headers: { accept: 'application/json', 'content-type': 'application/json', ...toRecord(init.headers) },
    body: JSON.stringify(body),
  });
}

async function request<T>(url: string, init: RequestInit): Promise<HttpResponse<T>> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    body: parseBody(text, response.headers.get('content-type'), url) as T,
    headers: Object.fromEntries(response.headers),
  };
}

function parseBody(text: string, contentType: string | null, url: string): unknown {
  if (!/[/+]json\b/i.test(contentType ?? '')) return text;
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url} answered ${contentType} that is not JSON: ${text.slice(0, 500)}`);
  }
}

function toRecord(headers: RequestInit['headers']): Record<string, string> {
  return Object.fromEntries(new Headers(headers));
}

/** A fetched response read whole, whatever its content-type. */
export interface ReadResponse<J = unknown> {
  status: number;
  text: string;
  /** The text parsed as JSON; undefined when it does not parse. */
  json: J;
  headers: Headers;
}

/** Fetches `url` and reads the whole answer, as text and (where it parses) as JSON. */
export async function fetchRead<J = unknown>(url: string, init?: RequestInit): Promise<ReadResponse<J>> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json: json as J, headers: response.headers };
}
