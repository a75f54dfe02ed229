import type { SimulatorHandle } from './business-contract';

/*
 * The business state of each simulator and app, in memory: followers, menus, tags, media, short keys, tickets,
 * quota clears, OAuth grants. An area that needs more state adds a field to AppBusinessState (per app) or to
 * BusinessState (per simulator).
 */

/** Followers every app starts with: `sandboxOpenid(1)` … `sandboxOpenid(SANDBOX_USER_COUNT)`. */
export const SANDBOX_USER_COUNT = 5;
/** A user who followed once and left: `user/info` says `subscribe: 0`, messages to them fail with 43004. */
export const SANDBOX_UNSUBSCRIBED_OPENID = 'o_sandbox_left_0000000000001';
/** Openids per page of `user/get`, `user/tag/get` and `getblacklist`, as on WeChat. */
export const SANDBOX_USER_PAGE_SIZE = 10_000;
/** A template id the simulator accepts (any 43 characters of `[A-Za-z0-9_-]` do). */
export const SANDBOX_TEMPLATE_ID = 'sandboxTemplate0000000000000000000000000001';

/** The openid of seeded follower `index` (1-based), 28 characters like WeChat's. */
export function sandboxOpenid(index: number): string {
  return `o_sandbox_user_${String(index).padStart(13, '0')}`;
}

export interface SandboxUser {
  openid: string;
  subscribe: 0 | 1;
  subscribeTime: number;
  remark: string;
  tagIds: number[];
  blacklisted: boolean;
  nickname: string;
}

export interface StoredFile {
  id: string;
  type: string;
  data: Buffer;
  contentType: string;
  filename: string;
  createdAt: number;
  title?: string;
  introduction?: string;
  url?: string;
}

export interface RidRecord {
  appId: string;
  path: string;
  invokeTime: number;
  requestUrl: string;
  requestBody: string;
  responseBody: string;
}

export interface AppBusinessState {
  users: Map<string, SandboxUser>;
  menu?: { button: unknown[]; menuid: string };
  conditionalMenus: Map<string, { button: unknown[]; matchrule: Record<string, unknown>; menuid: string }>;
  tags: Map<number, string>;
  nextTagId: number;
  media: Map<string, StoredFile>;
  materials: Map<string, StoredFile>;
  storedBytes: number;
  shortKeys: Map<string, { longData: string; createTime: number; expiresAt: number }>;
  tickets: Map<string, { type: TicketType; expiresAt: number }>;
  ticketCounts: Record<TicketType, number>;
  quotaClears: { month: string; count: number };
  quotaClearedAt: number;
}

export type TicketType = 'jsapi' | 'wx_card';

export interface OAuthGrant {
  appId: string;
  openid: string;
  scope: string;
  expiresAt: number;
}

/** A Mini Program login code (`wx.login()`), or a phone-number code (`getPhoneNumber`), minted by a helper. */
export interface MiniProgramCode {
  appId: string;
  openid: string;
  unionid?: string;
  /** Login codes: WeChat deems the user risky (40226). */
  risky?: boolean;
  /** Phone codes: the number. */
  phoneNumber?: string;
  expiresAt: number;
  used: boolean;
}

export interface BusinessState {
  apps: Map<string, AppBusinessState>;
  rids: Map<string, RidRecord>;
  codes: Map<string, OAuthGrant & { used: boolean }>;
  loginCodes: Map<string, MiniProgramCode>;
  phoneCodes: Map<string, MiniProgramCode>;
  /** Every session_key handed out (each login makes a fresh one), to the `appId openid` it belongs to. */
  sessionKeys: Map<string, string>;
  /** Login times by `appId openid`, for the 100-a-minute limit. */
  logins: Map<string, number[]>;
  webTokens: Map<string, OAuthGrant>;
  refreshTokens: Map<string, OAuthGrant>;
  seq: number;
}

const STATES = new WeakMap<SimulatorHandle, BusinessState>();

export function stateOf(sim: SimulatorHandle): BusinessState {
  let state = STATES.get(sim);
  if (!state) {
    state = {
      apps: new Map(),
      rids: new Map(),
      codes: new Map(),
      loginCodes: new Map(),
      phoneCodes: new Map(),
      sessionKeys: new Map(),
      logins: new Map(),
      webTokens: new Map(),
      refreshTokens: new Map(),
      seq: 0,
    };
    STATES.set(sim, state);
  }
  return state;
}

export function appOf(sim: SimulatorHandle, appId: string): AppBusinessState {
  const state = stateOf(sim);
  let app = state.apps.get(appId);
  if (!app) {
    app = {
      users: new Map(),
      conditionalMenus: new Map(),
      tags: new Map(),
      nextTagId: 100,
      media: new Map(),
      materials: new Map(),
      storedBytes: 0,
      shortKeys: new Map(),
      tickets: new Map(),
      ticketCounts: { jsapi: 0, wx_card: 0 },
      quotaClears: { month: '', count: 0 },
      quotaClearedAt: 0,
    };
    for (let i = 1; i <= SANDBOX_USER_COUNT; i++) addUser(app, sandboxOpenid(i), 1, i);
    addUser(app, SANDBOX_UNSUBSCRIBED_OPENID, 0, 0);
    state.apps.set(appId, app);
  }
  return app;
}

function addUser(app: AppBusinessState, openid: string, subscribe: 0 | 1, index: number): void {
  app.users.set(openid, {
    openid,
    subscribe,
    subscribeTime: 1_700_000_000 + index * 3_600,
    remark: '',
    tagIds: [],
    blacklisted: false,
    nickname: `Sandbox User ${index}`,
  });
}

/** Makes `appId` have `count` followers in all (`sandboxOpenid(1..count)`); returns their openids. */
export function seedSandboxUsers(sim: SimulatorHandle, appId: string, count: number): string[] {
  const app = appOf(sim, appId);
  const openids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const openid = sandboxOpenid(i);
    if (!app.users.has(openid)) addUser(app, openid, 1, i);
    openids.push(openid);
  }
  return openids;
}

/** Forgets every app's business state (users, menus, tags, media, tickets, OAuth grants). */
export function resetSandboxBusinessState(sim: SimulatorHandle): void {
  STATES.delete(sim);
}

/**
 * Every JS-SDK / card ticket, code (OAuth, Mini Program login and phone), web token and session_key this simulator
 * remembers having issued (tests grep logs for them).
 */
export function sandboxIssuedSecrets(sim: SimulatorHandle): {
  tickets: string[];
  codes: string[];
  webTokens: string[];
  sessionKeys: string[];
} {
  const state = stateOf(sim);
  return {
    tickets: [...state.apps.values()].flatMap((app) => [...app.tickets.keys()]),
    codes: [...state.codes.keys(), ...state.loginCodes.keys(), ...state.phoneCodes.keys()],
    sessionKeys: [...state.sessionKeys.keys()],
    webTokens: [...state.webTokens.keys(), ...state.refreshTokens.keys()],
  };
}
