import { randomBytes } from 'node:crypto';
import { chinaDay } from '../../common/time';
import { stringParam } from './simulator-input';
import type { SimulatorTiming, TokenEndpoint, TokenGrant, TokenState } from './simulator-types';
import { ERR, type WechatErrorCode } from './wechat-errors';

/** Dead tokens are forgotten this long after they died, so a long-running sandbox does not grow without bound. */
const TOKEN_RETENTION_MS = 86_400_000;
/** The first prune runs at this many remembered tokens; later ones when the map has doubled since the last. */
const PRUNE_THRESHOLD = 10_000;

interface TokenRecord {
  appId: string;
  kind: TokenEndpoint;
  expiresAt: number;
  killedAt?: number;
  /** Dead, yet still handed out by normal-mode stable_token calls (a platform inconsistency). */
  issuedWhileDead?: boolean;
}

interface AppState {
  day: string;
  legacyUsed: number;
  forceUsed: number;
  lastForceAt?: number;
  currentLegacy?: string;
  currentStable?: string;
}

/** A token answer, and whether it is a token newly handed out (a stable token returned again is not). */
export interface Issued {
  appId: string;
  grant: TokenGrant;
  fresh: boolean;
}

type Params = Record<string, unknown>;

/**
 * WeChat's token semantics: `/cgi-bin/token` (legacy: each call rotates, the previous token lives on for the overlap)
 * and `/cgi-bin/stable_token` (the same token until its last `overlapSeconds`; force refreshes spaced and counted
 * per day), credentials, daily quotas, and the state of every token issued. Answers are results or error codes;
 * the simulator turns them into HTTP answers.
 */
export class TokenBook {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly appStates = new Map<string, AppState>();
  // NOTE: with more apps than PRUNE_THRESHOLD the live tokens alone exceed it; pruning at a fixed size would scan
  // every token on every mint (quadratic at 10,000 apps), so the next prune waits until the map has doubled.
  private pruneAt = PRUNE_THRESHOLD;

  constructor(
    private readonly now: () => number,
    private readonly timing: () => Required<SimulatorTiming>,
    private readonly secretOf: (appId: string) => string | undefined,
  ) {}

  /** `GET /cgi-bin/token`: credentials, then the daily quota, then a rotation. */
  legacy(query: Params): Issued | WechatErrorCode {
    const appId = this.checkCredentials(query);
    if (typeof appId !== 'string') return appId;
    const state = this.appState(appId);
    if (state.legacyUsed >= this.timing().legacyDailyQuota) return ERR.dailyLimit;
    state.legacyUsed++;
    return { appId, grant: this.rotateLegacy(appId), fresh: true };
  }

  /** `POST /cgi-bin/stable_token`, normal or force mode. */
  stable(body: Params): Issued | WechatErrorCode {
    const appId = this.checkCredentials(body);
    if (typeof appId !== 'string') return appId;
    const state = this.appState(appId);
    const now = this.now();
    const timing = this.timing();

    if (body.force_refresh === true) {
      if (state.forceUsed >= timing.forceDailyLimit) return ERR.dailyLimit;
      state.forceUsed++;
      const spaced =
        state.lastForceAt === undefined || now - state.lastForceAt >= timing.forceMinIntervalSeconds * 1000;
      if (spaced) {
        state.lastForceAt = now;
        this.kill(state.currentStable);
        return { appId, grant: this.issueStable(appId), fresh: true };
      }
      // NOTE: a force call inside the interval does not refresh; it is answered like a normal-mode call.
    }

    const token = state.currentStable;
    const current = token === undefined ? undefined : this.tokens.get(token);
    if (
      token !== undefined &&
      current !== undefined &&
      (current.killedAt === undefined || current.issuedWhileDead === true) &&
      current.expiresAt - now > timing.overlapSeconds * 1000
    ) {
      return { appId, grant: { access_token: token, expires_in: secondsLeft(current, now) }, fresh: false };
    }
    return { appId, grant: this.issueStable(appId), fresh: true };
  }

  /** The app that `token` was issued to, if the simulator remembers it. */
  ownerOf(token: string): string | undefined {
    return this.tokens.get(token)?.appId;
  }

  /** What a business endpoint makes of `token`: a missing, dead or expired token is an error. */
  checkAccess(token: string | undefined): WechatErrorCode | undefined {
    if (token === undefined) return ERR.tokenMissing;
    const record = this.tokens.get(token);
    const state = record ? this.stateOf(record) : 'invalid';
    if (state === 'invalid') return ERR.invalidCredential;
    if (state === 'expired') return ERR.tokenExpired;
    return undefined;
  }

  /** The state of `token` used for `appId` (`invalid` if another app owns it). */
  check(appId: string, token: string): TokenState {
    const record = this.tokens.get(token);
    if (!record || record.appId !== appId) return 'invalid';
    return this.stateOf(record);
  }

  /** Another party's refresh (see WechatSimulator.foreignRefresh); `appId` is known. */
  foreignRefresh(appId: string, endpoint: TokenEndpoint): TokenGrant {
    if (endpoint === 'legacy') return this.rotateLegacy(appId);
    this.kill(this.appState(appId).currentStable);
    return this.issueStable(appId);
  }

  /** Kills `token` of `appId`; false when there is no such token. */
  revoke(appId: string, token: string, stillIssued: boolean): boolean {
    const record = this.tokens.get(token);
    if (!record || record.appId !== appId) return false;
    this.kill(token);
    if (stillIssued) record.issuedWhileDead = true;
    return true;
  }

  /** Every token still remembered (dead ones are forgotten a day after they died). */
  issued(): string[] {
    return [...this.tokens.keys()];
  }

  /** Forgets every token, quota and force history. */
  clear(): void {
    this.tokens.clear();
    this.appStates.clear();
  }

  /** Returns the app id when the credentials are good, else the WeChat error. */
  private checkCredentials(params: Params): string | WechatErrorCode {
    if (params.grant_type !== 'client_credential') return ERR.invalidGrantType;
    const appId = stringParam(params.appid);
    if (appId === undefined) return ERR.appIdMissing;
    const secret = stringParam(params.secret);
    if (secret === undefined) return ERR.secretMissing;
    const expected = this.secretOf(appId);
    if (expected === undefined) return ERR.invalidAppId;
    if (secret !== expected) return ERR.invalidSecret;
    return appId;
  }

  private rotateLegacy(appId: string): TokenGrant {
    const state = this.appState(appId);
    const now = this.now();
    const previous = state.currentLegacy === undefined ? undefined : this.tokens.get(state.currentLegacy);
    if (previous)
      previous.expiresAt = Math.min(previous.expiresAt, now + this.timing().overlapSeconds * 1000);
    const grant = this.mint(appId, 'legacy', now);
    state.currentLegacy = grant.access_token;
    return grant;
  }

  /** Makes a new current stable token; the previous one keeps its own expiry (the caller kills it if needed). */
  private issueStable(appId: string): TokenGrant {
    const grant = this.mint(appId, 'stable', this.now());
    this.appState(appId).currentStable = grant.access_token;
    return grant;
  }

  private mint(appId: string, kind: TokenEndpoint, now: number): TokenGrant {
    if (this.tokens.size >= this.pruneAt) {
      this.prune(now);
      this.pruneAt = Math.max(PRUNE_THRESHOLD, 2 * this.tokens.size);
    }
    const token = randomBytes(96).toString('base64url');
    const record: TokenRecord = { appId, kind, expiresAt: now + this.timing().tokenLifetimeSeconds * 1000 };
    this.tokens.set(token, record);
    return { access_token: token, expires_in: secondsLeft(record, now) };
  }

  private kill(token: string | undefined): void {
    const record = token === undefined ? undefined : this.tokens.get(token);
    if (record && record.killedAt === undefined) record.killedAt = this.now();
  }

  private prune(now: number): void {
    const current = new Set<string | undefined>();
    for (const state of this.appStates.values()) current.add(state.currentLegacy).add(state.currentStable);
    for (const [token, record] of this.tokens) {
      const diedAt = Math.min(record.expiresAt, record.killedAt ?? Infinity);
      if (!current.has(token) && now - diedAt > TOKEN_RETENTION_MS) this.tokens.delete(token);
    }
  }

  private stateOf(record: TokenRecord): TokenState {
    if (record.killedAt !== undefined) return 'invalid';
    return this.now() < record.expiresAt ? 'valid' : 'expired';
  }

  private appState(appId: string): AppState {
    const day = chinaDay(this.now());
    let state = this.appStates.get(appId);
    if (!state) {
      state = { day, legacyUsed: 0, forceUsed: 0 };
      this.appStates.set(appId, state);
    } else if (state.day !== day) {
      state.day = day;
      state.legacyUsed = 0;
      state.forceUsed = 0;
    }
    return state;
  }
}

function secondsLeft(record: TokenRecord, now: number): number {
  return Math.max(0, Math.floor((record.expiresAt - now) / 1000));
}
