import type { WechatHandlerOptions } from './wechat-callback.decorators';

export type WechatHandlerFn = (message: Record<string, unknown>, context: unknown) => unknown;

export interface WechatRoute {
  kind: 'message' | 'event';
  /** msgType or Event, or `*` */
  type: string;
  options: WechatHandlerOptions;
  /** `Class.method`, for logs */
  name: string;
  handler: WechatHandlerFn;
}

function matches(expected: string | RegExp | undefined, actual: unknown): boolean {
  if (expected === undefined) return true;
  if (typeof actual !== 'string') return false;
  if (typeof expected === 'string') return expected === actual;
  expected.lastIndex = 0;
  return expected.test(actual);
}

/** Higher wins: an exact type beats `*`; then each narrowing option (appId, eventKey, content) adds one. */
function specificity(route: WechatRoute): number {
  const { appId, eventKey, content } = route.options;
  return (
    (route.type === '*' ? 0 : 10) +
    (appId ? 1 : 0) +
    (eventKey !== undefined ? 1 : 0) +
    (content !== undefined ? 1 : 0)
  );
}

/**
 * Picks the one handler for a push. Events (`MsgType=event`) go to event handlers only, everything else to message
 * handlers only. Among the handlers whose type and options all match, the most specific wins: an exact type beats
 * `'*'`, then the one with more narrowing options (appId, eventKey, content); on a tie, the first registered
 * (module order, then method order) wins.
 */
export class WechatCallbackRouter {
  private routes: WechatRoute[] = [];

  add(route: WechatRoute): void {
    this.routes.push(route);
    // stable sort keeps registration order among equals
    this.routes = this.routes
      .map((r, index) => ({ r, index }))
      .sort((a, b) => specificity(b.r) - specificity(a.r) || a.index - b.index)
      .map(({ r }) => r);
  }

  list(): readonly WechatRoute[] {
    return this.routes;
  }

  match(appId: string, message: Record<string, unknown>): WechatRoute | undefined {
    const isEvent = message.MsgType === 'event';
    const type = isEvent ? message.Event : message.MsgType;
    for (const route of this.routes) {
      if ((route.kind === 'event') !== isEvent) continue;
      if (route.type !== '*' && route.type !== type) continue;
      if (route.options.appId !== undefined && route.options.appId !== appId) continue;
      if (!matches(route.options.eventKey, message.EventKey)) continue;
      if (!matches(route.options.content, message.Content)) continue;
      return route;
    }
    return undefined;
  }
}
