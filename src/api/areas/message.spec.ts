import { useApiPlane } from '../../../test/support/api-plane';
import {
  SANDBOX_TEMPLATE_ID,
  SANDBOX_UNSUBSCRIBED_OPENID,
  sandboxOpenid,
} from '../../sandbox/business/business-state';

const APP = 'wx00000000000msg01';

const h = useApiPlane(APP);

describe('message', () => {
  it('sends a customer-service message (recorded as the user would receive it)', async () => {
    await h.client.message.sendCustom(APP, {
      touser: sandboxOpenid(1),
      msgtype: 'text',
      text: { content: '你好' },
    });
    expect(h.sim.customMessages()).toEqual([
      expect.objectContaining({
        appId: APP,
        body: { touser: sandboxOpenid(1), msgtype: 'text', text: { content: '你好' } },
      }),
    ]);
  });

  it('shows and hides typing', async () => {
    await h.client.message.typing(APP, sandboxOpenid(1));
    await h.client.message.typing(APP, sandboxOpenid(1), 'CancelTyping');
    expect(h.sim.requests('/cgi-bin/message/custom/typing').map((r) => r.body)).toEqual([
      { touser: sandboxOpenid(1), command: 'Typing' },
      { touser: sandboxOpenid(1), command: 'CancelTyping' },
    ]);
    await expect(h.client.message.typing(APP, 'o_nobody')).rejects.toMatchObject({ errcode: 40003 });
  });

  it('sends a template message and resolves to its msgid', async () => {
    const message = {
      touser: sandboxOpenid(2),
      template_id: SANDBOX_TEMPLATE_ID,
      url: 'https://example.com/order/1',
      data: { thing1: { value: '订单已发货', color: '#173177' }, time2: { value: '2025-01-01 12:00' } },
    };
    const { msgid } = await h.client.message.sendTemplate(APP, message);
    expect(Number.isSafeInteger(msgid)).toBe(true);
    expect(h.sim.requests('/cgi-bin/message/template/send')[0]!.body).toEqual(message);
    const second = await h.client.message.sendTemplate(APP, message);
    expect(second.msgid).not.toBe(msgid);
  });

  it('maps template errors: 40037 unknown template, 43004 not following, 40003 unknown user', async () => {
    const base = { template_id: SANDBOX_TEMPLATE_ID, data: { thing1: { value: 'x' } } };
    await expect(
      h.client.message.sendTemplate(APP, { ...base, touser: sandboxOpenid(1), template_id: 'short' }),
    ).rejects.toMatchObject({
      errcode: 40037,
      errmsg: 'invalid template_id',
    });
    await expect(
      h.client.message.sendTemplate(APP, { ...base, touser: SANDBOX_UNSUBSCRIBED_OPENID }),
    ).rejects.toMatchObject({ errcode: 43004 });
    await expect(h.client.message.sendTemplate(APP, { ...base, touser: 'o_nobody' })).rejects.toMatchObject({
      errcode: 40003,
    });
  });

  it('sends a subscription notice (bizsend); 43101 when the user does not accept it', async () => {
    const notice = {
      touser: sandboxOpenid(3),
      template_id: SANDBOX_TEMPLATE_ID,
      page: 'https://example.com',
      data: { thing1: { value: '提醒' } },
    };
    await h.client.message.sendSubscribe(APP, notice);
    expect(h.sim.requests('/cgi-bin/message/subscribe/bizsend')[0]!.body).toEqual(notice);
    await expect(
      h.client.message.sendSubscribe(APP, { ...notice, touser: SANDBOX_UNSUBSCRIBED_OPENID }),
    ).rejects.toMatchObject({
      errcode: 43101,
    });
  });
});
