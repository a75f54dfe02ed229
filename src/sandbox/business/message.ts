import type { BusinessRoute } from './business-contract';
import { isObject, jsonBody, OK, reject, route, userOf } from './business-route';

function checkTemplateId(value: unknown): void {
  if (typeof value !== 'string' || !/^[\w-]{43}$/.test(value)) reject(40037, 'invalid template_id');
}

function checkTemplateData(value: unknown): void {
  if (!isObject(value)) reject(47001, 'data format error');
  for (const entry of Object.values(value)) {
    if (!isObject(entry) || typeof entry.value !== 'string') reject(47001, 'data format error');
  }
}

/**
 * `/cgi-bin/message/*` beyond customer-service send (which the core serves): typing, template and subscribe messages.
 */
export const MESSAGE_ROUTES: BusinessRoute[] = [
  route('POST', '/cgi-bin/message/custom/typing', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    if (body.command !== 'Typing' && body.command !== 'CancelTyping') reject(47001, 'data format error');
    if (user.subscribe === 0) reject(45015, 'response out of time limit or subscription is canceled');
    return OK;
  }),
  route('POST', '/cgi-bin/message/template/send', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    checkTemplateId(body.template_id);
    checkTemplateData(body.data);
    if (body.url !== undefined && typeof body.url !== 'string') reject(47001, 'data format error');
    if (
      body.miniprogram !== undefined &&
      !(isObject(body.miniprogram) && typeof body.miniprogram.appid === 'string')
    ) {
      reject(47001, 'data format error');
    }
    if (user.subscribe === 0) reject(43004, 'require subscribe');
    return { ...OK, msgid: 2_000_000_000 + ++ctx.state.seq };
  }),
  route('POST', '/cgi-bin/message/subscribe/bizsend', (ctx) => {
    const body = jsonBody(ctx);
    const user = userOf(ctx, body.touser);
    checkTemplateId(body.template_id);
    checkTemplateData(body.data);
    if (user.subscribe === 0) reject(43101, 'user refuse to accept the msg');
    return OK;
  }),
];
