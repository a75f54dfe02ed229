import { WechatCallbackRouter, type WechatRoute } from './wechat-callback.router';

function route(partial: Partial<WechatRoute> & Pick<WechatRoute, 'kind' | 'type' | 'name'>): WechatRoute {
  return { options: {}, handler: () => undefined, ...partial };
}

const text = (content: string): Record<string, unknown> => ({
  MsgType: 'text',
  Content: content,
  FromUserName: 'o1',
});
const event = (name: string, key?: string): Record<string, unknown> => ({
  MsgType: 'event',
  Event: name,
  EventKey: key,
});

describe('WechatCallbackRouter', () => {
  it('sends events only to event handlers and messages only to message handlers', () => {
    const router = new WechatCallbackRouter();
    router.add(route({ kind: 'message', type: '*', name: 'anyMessage' }));
    router.add(route({ kind: 'event', type: '*', name: 'anyEvent' }));
    expect(router.match('wx1', text('hi'))?.name).toBe('anyMessage');
    expect(router.match('wx1', event('subscribe'))?.name).toBe('anyEvent');
  });

  it('prefers an exact type over *, whatever the registration order', () => {
    const router = new WechatCallbackRouter();
    router.add(route({ kind: 'message', type: '*', name: 'fallback' }));
    router.add(route({ kind: 'message', type: 'text', name: 'text' }));
    expect(router.match('wx1', text('hi'))?.name).toBe('text');
    expect(router.match('wx1', { MsgType: 'image' })?.name).toBe('fallback');
  });

  it('prefers more narrowing options, then the first registered', () => {
    const router = new WechatCallbackRouter();
    router.add(route({ kind: 'message', type: 'text', name: 'first' }));
    router.add(route({ kind: 'message', type: 'text', name: 'second' }));
    router.add(route({ kind: 'message', type: 'text', name: 'help', options: { content: /^help/i } }));
    router.add(
      route({
        kind: 'message',
        type: 'text',
        name: 'helpForOneAccount',
        options: { content: /^help/i, appId: 'wx2' },
      }),
    );
    expect(router.match('wx1', text('Help me'))?.name).toBe('help');
    expect(router.match('wx2', text('help me'))?.name).toBe('helpForOneAccount');
    expect(router.match('wx1', text('hello'))?.name).toBe('first');
  });

  it('matches eventKey and content by string equality or RegExp', () => {
    const router = new WechatCallbackRouter();
    router.add(route({ kind: 'event', type: 'CLICK', name: 'music', options: { eventKey: 'V1001_MUSIC' } }));
    router.add(route({ kind: 'event', type: 'subscribe', name: 'qr', options: { eventKey: /^qrscene_/ } }));
    router.add(route({ kind: 'message', type: 'text', name: 'exact', options: { content: 'menu' } }));
    expect(router.match('wx1', event('CLICK', 'V1001_MUSIC'))?.name).toBe('music');
    expect(router.match('wx1', event('CLICK', 'OTHER'))).toBeUndefined();
    expect(router.match('wx1', event('subscribe', 'qrscene_42'))?.name).toBe('qr');
    expect(router.match('wx1', event('subscribe'))).toBeUndefined();
    expect(router.match('wx1', text('menu'))?.name).toBe('exact');
    expect(router.match('wx1', text('menus'))).toBeUndefined();
  });

  it('is not fooled by a global RegExp keeping state between pushes', () => {
    const router = new WechatCallbackRouter();
    router.add(route({ kind: 'message', type: 'text', name: 'g', options: { content: /a/g } }));
    expect(router.match('wx1', text('a'))?.name).toBe('g');
    expect(router.match('wx1', text('a'))?.name).toBe('g');
  });

  it('treats event names as case-sensitive, as WeChat sends them', () => {
    const router = new WechatCallbackRouter();
    router.add(route({ kind: 'event', type: 'SCAN', name: 'scan' }));
    expect(router.match('wx1', event('scan'))).toBeUndefined();
    expect(router.match('wx1', event('SCAN'))?.name).toBe('scan');
  });
});
