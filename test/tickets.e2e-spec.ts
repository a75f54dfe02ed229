import { jsapiSignature } from '../src/token/ticket.service';
import { getJson } from './support/http';
import { startHub, startSimulator, terminate, type ChildHandle } from './support/processes';
import { startRedis, type RedisServerHandle } from './support/redis-server';

/** JS-SDK tickets across 3 hub processes sharing one Redis, with 30-second lifetimes so they rotate. */

const APP = 'wxtickets000000001';
const SECRET = 'ticketsfleetsecret00000000000001';
const KEY = 'tickets-admin-key-0123456789';
const auth = { headers: { authorization: `Bearer ${KEY}` } };
const LIFETIME = 30;
const AHEAD = 8;

type Hub = ChildHandle & { url: string };
interface TicketBody {
  ticket: string;
  version: number;
  expires_in: number;
}
interface SignatureBody {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  url: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('JS-SDK tickets across 3 processes', () => {
  let redis: RedisServerHandle;
  let sim: ChildHandle & { url: string };
  let hubs: Hub[];

  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({
      SANDBOX_APPS: JSON.stringify([{ appId: APP, appSecret: SECRET }]),
      SANDBOX_TOKEN_LIFETIME_SECONDS: String(LIFETIME),
      SANDBOX_OVERLAP_SECONDS: '10',
    });
    hubs = await Promise.all(
      [1, 2, 3].map((n) =>
        startHub(
          {
            WECHAT_SANDBOX: 'false',
            WECHAT_ACCOUNTS: JSON.stringify([{ appId: APP, appSecret: SECRET }]),
            WECHAT_API_BASE_URL: sim.url,
            REDIS_URL: redis.url,
            ADMIN_API_KEYS: KEY,
            TOKEN_REFRESH_AHEAD_SECONDS: String(AHEAD),
          },
          { name: `hub-${n}` },
        ),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all([...(hubs ?? []), sim].filter(Boolean).map((p) => terminate(p)));
    await redis?.stop();
  });

  async function getticketCalls(): Promise<number> {
    const { body } = await getJson<Record<string, { jsapi: number }>>(`${sim.url}/sandbox/tickets/stats`);
    return body[APP]?.jsapi ?? 0;
  }

  async function ticketState(ticket: string): Promise<string> {
    const { body } = await getJson<{ state: string }>(
      `${sim.url}/sandbox/tickets/check?appid=${APP}&ticket=${encodeURIComponent(ticket)}`,
    );
    return body.state;
  }

  it('first use from all 3 processes at once costs 1 getticket, and every signature verifies against that ticket', async () => {
    const page = 'https://shop.example.com/item?id=7';
    const signatures = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        getJson<SignatureBody>(
          `${hubs[i % 3]!.url}/api/v1/accounts/${APP}/jsapi-signature?url=${encodeURIComponent(`${page}#x`)}`,
          auth,
        ),
      ),
    );
    expect(signatures.every((s) => s.status === 200)).toBe(true);
    expect(await getticketCalls()).toBe(1);
    const { body: ticket } = await getJson<TicketBody>(
      `${hubs[0]!.url}/api/v1/accounts/${APP}/tickets/jsapi`,
      auth,
    );
    expect(await ticketState(ticket.ticket)).toBe('valid');
    for (const { body } of signatures) {
      expect(body.url).toBe(page);
      expect(body.signature).toBe(jsapiSignature(ticket.ticket, body.nonceStr, body.timestamp, page));
    }
  });

  it('rotates with exactly 1 getticket per rotation across the fleet, never serving an invalid ticket', async () => {
    const startCalls = await getticketCalls();
    const seen = new Set<string>();
    let invalid = 0;
    const until = Date.now() + 50_000;
    while (Date.now() < until) {
      const reads = await Promise.all(
        hubs.map((hub) => getJson<TicketBody>(`${hub.url}/api/v1/accounts/${APP}/tickets/jsapi`, auth)),
      );
      for (const { status, body } of reads) {
        expect(status).toBe(200);
        seen.add(body.ticket);
        if ((await ticketState(body.ticket)) !== 'valid') invalid++;
      }
      await sleep(250);
    }
    const calls = (await getticketCalls()) - startCalls;
    console.log(
      `tickets over 50 s: ${seen.size} tickets served, ${calls} getticket calls, ${invalid} invalid`,
    );
    expect(invalid).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(2);
    // each rotation is one call: every new ticket seen was fetched exactly once, by one of the 3 processes
    expect(calls).toBeLessThanOrEqual(seen.size);
  });
});
