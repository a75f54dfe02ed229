import { getJson } from './http';

/** An account as the callback e2e specs configure it (WECHAT_ACCOUNTS) and sign its pushes. */
export interface CallbackAccount {
  appId: string;
  appSecret: string;
  token: string;
  encodingAESKey: string;
  messageMode: 'plain' | 'compatible' | 'safe';
  kind?: 'miniProgram' | 'officialAccount';
  messageFormat?: 'xml' | 'json';
}

/** A hub's answer to a push, and how long it took. */
export interface PushAnswer {
  status: number;
  body: string;
  contentType: string;
  ms: number;
}

/** A customer-service message the simulator recorded (`GET /sandbox/custom-messages`). */
export interface CustomMessage {
  appId: string;
  receivedAt: number;
  body: Record<string, unknown> & { touser?: string; msgtype?: string; text?: { content?: string } };
}

/** POSTs a push to `<hubUrl>/wechat/<appId>` with `query`; `contentType` null sends none. */
export async function postPush(
  hubUrl: string,
  appId: string,
  query: Record<string, string>,
  body: string | Uint8Array,
  contentType: string | null = 'text/xml',
): Promise<PushAnswer> {
  const started = performance.now();
  const response = await fetch(`${hubUrl}/wechat/${appId}?${new URLSearchParams(query).toString()}`, {
    method: 'POST',
    headers: contentType === null ? {} : { 'content-type': contentType },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text,
    contentType: response.headers.get('content-type') ?? '',
    ms: performance.now() - started,
  };
}

/**
 * The customer-service messages the simulator at `simUrl` recorded that `accept` takes, once there are at least
 * `atLeast` of them or `timeoutMs` passed (then what there is).
 */
export async function customMessages(
  simUrl: string,
  accept: (message: CustomMessage) => boolean,
  atLeast = 1,
  timeoutMs = 10_000,
): Promise<CustomMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson<CustomMessage[]>(`${simUrl}/sandbox/custom-messages`);
    const mine = body.filter(accept);
    if (mine.length >= atLeast || Date.now() > deadline) return mine;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
