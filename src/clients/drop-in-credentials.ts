import { timingSafeEqual } from 'node:crypto';
import { keyDigest } from './client-key';
import type { AuthFailureLimiter } from './auth-failure-limiter';
import type { ClientRegistry } from './client-registry';
import { authorize, type Principal } from './principal';

/** What the drop-in knows of the account asked for. */
export interface DropInAccount {
  appId: string;
  appSecret: string;
}

/** A drop-in call's credentials, as presented: `appid` and `secret` of `/cgi-bin/token` or `/cgi-bin/stable_token`. */
export interface DropInCredentials {
  appId: string;
  secret: string;
  /** The configured account `appId`, or undefined when there is none. */
  account: DropInAccount | undefined;
  /** DROPIN_ACCEPT_APP_SECRET: whether the account's real AppSecret is accepted as `secret`. */
  acceptAppSecret: boolean;
}

export type DropInDecision =
  /** The account's AppSecret (only while DROPIN_ACCEPT_APP_SECRET is true); the audit log names the caller `sdk`. */
  | { ok: true; via: 'app-secret'; actorId: 'sdk' }
  /** The key of a client (or an admin key) with `read` on the account. */
  | { ok: true; via: 'client'; principal: Principal }
  | DropInRefusal;

/** A WeChat-shaped refusal: the answer `{errcode, errmsg}` and whether it counts as a failed authentication. */
export interface DropInRefusal {
  ok: false;
  reason: 'blocked' | 'unknown-appid' | 'invalid-secret' | 'app-secret-refused' | 'forbidden';
  errcode: number;
  errmsg: string;
  /**
   * Whether to count it in AuthFailureLimiter: a guess (unknown appid, wrong secret) does; a caller that holds the
   * real AppSecret or a valid key does not (it guessed nothing, and it may share an address with other services).
   */
  countsAsFailure: boolean;
  principal?: Principal;
  /** With `blocked`: the seconds until the address may try again. */
  retryAfterSeconds?: number;
}

/** Compared with a presented secret when the account is unknown, so that path costs the same as a known one. */
const NO_SECRET = keyDigest('\u0000no account');

/**
 * The drop-in's credential check: is `secret` the account's AppSecret (accepted while DROPIN_ACCEPT_APP_SECRET is
 * true), or the key of a principal with `read` on `appId`? Both comparisons are made on every call, as SHA-256
 * digests with timingSafeEqual, so the answer time tells nothing about which one matched or how much of it.
 *
 * Answers, WeChat-shaped as the SDKs expect:
 * - a key whose client may not read `appId` → 48001 (api unauthorized), the same whether the account exists or not;
 * - an unknown appid (for anyone else) → 40013, as WeChat answers an unknown appid;
 * - a wrong secret → 40125, as WeChat;
 * - the real AppSecret while DROPIN_ACCEPT_APP_SECRET is false → 40125 with a reason the operator can act on.
 */
export function checkDropInCredentials(input: DropInCredentials, registry: ClientRegistry): DropInDecision {
  const presented = keyDigest(input.secret);
  const appSecretMatches = timingSafeEqual(
    input.account ? keyDigest(input.account.appSecret) : NO_SECRET,
    presented,
  );
  const principal = registry.resolve(input.secret);

  if (principal) {
    if (!authorize(principal, 'read', input.appId).allowed) {
      return refusal(
        'forbidden',
        48001,
        `api unauthorized (wxhub: this key may not read appid ${input.appId})`,
        false,
        principal,
      );
    }
    if (!input.account) return refusal('unknown-appid', 40013, 'invalid appid', false, principal);
    return { ok: true, via: 'client', principal };
  }
  if (!input.account) return refusal('unknown-appid', 40013, 'invalid appid', true);
  if (!appSecretMatches) return refusal('invalid-secret', 40125, 'invalid appsecret', true);
  if (!input.acceptAppSecret) {
    return refusal(
      'app-secret-refused',
      40125,
      'invalid appsecret (wxhub: the AppSecret is not accepted here, use a client key with "read")',
      false,
    );
  }
  return { ok: true, via: 'app-secret', actorId: 'sdk' };
}

function refusal(
  reason: DropInRefusal['reason'],
  errcode: number,
  errmsg: string,
  countsAsFailure: boolean,
  principal?: Principal,
): DropInRefusal {
  return { ok: false, reason, errcode, errmsg, countsAsFailure, ...(principal ? { principal } : {}) };
}

/**
 * The whole drop-in check the compat controller calls: an address blocked on the drop-in surface is answered 45011
 * with the seconds to wait (WeChat's per-minute limit, which SDKs surface instead of retrying) before its secret is
 * looked at; then {@link checkDropInCredentials}, counting a guess in `limiter` (surface `drop-in`, so it never
 * blocks the admin API).
 */
export function authenticateDropIn(
  input: DropInCredentials,
  registry: ClientRegistry,
  limiter: AuthFailureLimiter,
  ip: string,
): DropInDecision {
  const block = limiter.check('drop-in', ip);
  if (block.blocked) {
    return {
      ok: false,
      reason: 'blocked',
      errcode: 45011,
      errmsg:
        `api minute-quota reach limit, must slower, retry in ${block.retryAfterSeconds} s ` +
        '(wxhub: too many failed authentications from this address)',
      countsAsFailure: false,
      retryAfterSeconds: block.retryAfterSeconds,
    };
  }
  const decision = checkDropInCredentials(input, registry);
  if (!decision.ok && decision.countsAsFailure) limiter.fail('drop-in', ip);
  return decision;
}
