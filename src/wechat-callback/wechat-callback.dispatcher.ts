import { hash, randomUUID } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { MetricsService, type CallbackOutcome } from '../metrics/metrics.service';
import { CallbackDedupeStore, type DedupeState } from './dedupe/callback-dedupe-store';
import { CustomerServiceSender } from './customer-service-sender';
import { InjectWechatCallbackOptions } from './wechat-callback.constants';
import { Inject } from '@nestjs/common';
import type { ResolvedCallbackOptions } from './wechat-callback-options';
import { WechatCallbackRouter, type WechatRoute } from './wechat-callback.router';
import { WechatCallbackVerifier, type VerifiedPush } from './wechat-callback-verifier';
import { runInWechatContext, type WechatCallbackContext } from './wechat-context';
import { accountKind } from '../accounts/account-config';
import { encryptedJsonReply, renderPassiveJsonReply } from './wechat-json';
import {
  normalizeReply,
  renderReplyXml,
  replyToCustomerServiceMessage,
  replyToMiniProgramCustomerServiceMessage,
  type WechatReply,
} from './wechat-reply';

/** WeChat's "nothing to reply" answer. */
export const SUCCESS = 'success';

/** The content type of a response body returned by {@link WechatCallbackDispatcher.handle}. */
export function responseContentType(response: string): string {
  if (response === SUCCESS) return 'text/plain; charset=utf-8';
  return response.startsWith('{') ? 'application/json; charset=utf-8' : 'application/xml; charset=utf-8';
}

/** A claim on a push outlives a crashed instance by at most this long; it is extended while the handler runs. */
const PROCESSING_TTL_MS = 10_000;
const RETRY_POLL_MS = 50;
/** Claim owners are this process's id and a counter: unique across instances, and free to make. */
const INSTANCE = randomUUID();
let claims = 0;

type Outcome =
  { kind: 'reply'; reply: WechatReply | null } | { kind: 'error'; error: unknown } | { kind: 'late' };

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The handler's outcome, or `late` once the deadline passes first. */
async function withinBudget(work: Promise<WechatReply | null>, deadline: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race<Outcome>([
    work.then(
      (reply) => ({ kind: 'reply', reply }),
      (error: unknown) => ({ kind: 'error', error }),
    ),
    new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'late' }), Math.max(0, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}

/**
 * Runs the one matching handler of a verified push, once across all instances and WeChat's retries, within the
 * 5-second budget: past `handlerTimeoutMs` it answers `success` and delivers the handler's reply later through the
 * customer-service API. A failing handler is logged and answered `success` (WeChat would retry a 500 forever), and
 * its claim is released so that a retry runs it again.
 */
@Injectable()
export class WechatCallbackDispatcher {
  private readonly logger = new Logger('WechatCallback');
  readonly stats = { handled: 0, duplicates: 0, handlerErrors: 0, lateReplies: 0, unhandled: 0 };

  constructor(
    private readonly router: WechatCallbackRouter,
    private readonly verifier: WechatCallbackVerifier,
    @Inject(CallbackDedupeStore) private readonly dedupe: CallbackDedupeStore,
    private readonly sender: CustomerServiceSender,
    @InjectWechatCallbackOptions() private readonly options: ResolvedCallbackOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /**
   * The response body for WeChat: `success`, or the passive reply in the push's format (encrypted when the push
   * was). A Mini Program's only passive reply is the hand-over to customer service; its other replies are answered
   * `success` and sent through the customer-service API.
   */
  async handle(push: VerifiedPush): Promise<string> {
    const appId = push.account.appId;
    const deadline = push.receivedAt + this.options.handlerTimeoutMs;
    const id = this.dedupeId(push.message);
    if (id === null) return this.run(push, deadline, undefined);
    const owner = `${INSTANCE}:${++claims}`;
    let state: DedupeState | null;
    try {
      state = await this.dedupe.claim(appId, id, owner, PROCESSING_TTL_MS);
      while (state.state === 'processing') {
        if (Date.now() >= deadline) {
          this.metrics?.dedupeHit(appId);
          return this.answered(push, 'duplicate', SUCCESS);
        }
        await new Promise((r) => setTimeout(r, RETRY_POLL_MS));
        state =
          (await this.dedupe.peek(appId, id)) ??
          (await this.dedupe.claim(appId, id, owner, PROCESSING_TTL_MS));
      }
    } catch (error) {
      this.logger.warn(`de-duplication unavailable (${(error as Error).message}); handling the push anyway`);
      return this.run(push, deadline, undefined);
    }
    if (state.state === 'done') {
      this.stats.duplicates++;
      this.metrics?.dedupeHit(appId);
      return this.answered(push, 'duplicate', state.response);
    }
    return this.run(push, deadline, { id, owner });
  }

  private async run(
    push: VerifiedPush,
    deadline: number,
    claim: { id: string; owner: string } | undefined,
  ): Promise<string> {
    const appId = push.account.appId;
    const route = this.router.match(appId, push.message);
    if (!route) {
      this.stats.unhandled++;
      this.complete(appId, claim, SUCCESS);
      return this.answered(push, 'success', SUCCESS);
    }
    const context: WechatCallbackContext = {
      appId,
      openId: String(push.message.FromUserName ?? ''),
      raw: push.raw,
      format: push.format,
      rawXml: push.format === 'xml' ? push.raw : '',
      mode: push.account.messageMode,
      encrypted: push.encrypted,
      receivedAt: push.receivedAt,
    };
    this.stats.handled++;
    const invoked = this.invoke(route, push, context);
    // a handler that answered synchronously needs neither the lease watchdog nor the budget timer
    const work = invoked instanceof Promise ? this.watched(invoked, appId, claim) : undefined;
    const outcome = work ? await withinBudget(work, deadline) : (invoked as Outcome);

    if (outcome.kind === 'late') {
      this.stats.lateReplies++;
      this.logger.warn(
        `${route.name} passed the ${this.options.handlerTimeoutMs} ms budget; answered success, its reply goes out through the customer-service API`,
      );
      this.complete(appId, claim, SUCCESS);
      // only an asynchronous handler can be late
      work?.then(
        (reply) => reply && this.deliverLate(push, route, reply),
        (error: unknown) => this.handlerFailed(route, push, error),
      );
      return this.answered(push, 'late', SUCCESS);
    }
    if (outcome.kind === 'error') {
      this.handlerFailed(route, push, outcome.error);
      if (claim) await this.dedupe.release(appId, claim.id, claim.owner).catch(() => undefined);
      return this.answered(push, 'error', SUCCESS);
    }
    if (outcome.reply && accountKind(push.account) === 'miniProgram') {
      return this.answerMiniProgram(push, route, claim, outcome.reply);
    }
    if (outcome.reply?.kind === 'miniprogrampage') {
      this.logger.warn(
        `${route.name} returned a miniprogrampage reply to an Official Account push; only a Mini Program push can be answered with one, dropped`,
      );
      this.complete(appId, claim, SUCCESS);
      return this.answered(push, 'success', SUCCESS);
    }
    const body = outcome.reply ? this.render(push, outcome.reply) : SUCCESS;
    this.complete(appId, claim, body);
    return this.answered(push, body === SUCCESS ? 'success' : 'replied', body);
  }

  /** Runs the handler: its outcome when it returned or threw synchronously, else the promise of its reply. */
  private invoke(
    route: WechatRoute,
    push: VerifiedPush,
    context: WechatCallbackContext,
  ): Outcome | Promise<WechatReply | null> {
    try {
      const value: unknown = runInWechatContext(context, () => route.handler(push.message, context));
      if (isPromiseLike(value)) return Promise.resolve(value).then((settled) => normalizeReply(settled));
      return { kind: 'reply', reply: normalizeReply(value) };
    } catch (error) {
      return { kind: 'error', error };
    }
  }

  /** Keeps the de-duplication claim alive while an asynchronous handler runs. */
  private watched(
    work: Promise<WechatReply | null>,
    appId: string,
    claim: { id: string; owner: string } | undefined,
  ): Promise<WechatReply | null> {
    if (!claim) return work;
    const watchdog = setInterval(() => {
      this.dedupe.extend(appId, claim.id, claim.owner, PROCESSING_TTL_MS).catch(() => undefined);
    }, PROCESSING_TTL_MS / 3);
    return work.finally(() => clearInterval(watchdog));
  }

  private answered(push: VerifiedPush, outcome: CallbackOutcome, body: string): string {
    this.metrics?.callbackAnswered(push.account.appId, outcome, (Date.now() - push.receivedAt) / 1000);
    return body;
  }

  /** The passive reply in the push's format, encrypted when the push was. */
  private render(push: VerifiedPush, reply: WechatReply): string {
    const address = {
      toUser: String(push.message.FromUserName ?? ''),
      fromUser: String(push.message.ToUserName ?? ''),
      createTime: Math.floor(Date.now() / 1000),
    };
    const crypto = push.encrypted ? this.verifier.crypto(push.account) : undefined;
    if (push.format === 'json') {
      // only a hand-over to customer service gets here (answerMiniProgram); anything else has no JSON reply
      const json = renderPassiveJsonReply(reply, address);
      if (json === null) return SUCCESS;
      return crypto ? encryptedJsonReply(crypto, json, push.timestamp, push.nonce) : json;
    }
    const xml = renderReplyXml(reply, address);
    return crypto ? crypto.encryptedReply(xml, push.timestamp, push.nonce) : xml;
  }

  /**
   * A Mini Program push has no passive reply but the hand-over to customer service (for user messages, never
   * events): that one is answered in the push's format, every other reply is answered `success` at once and sent
   * through the customer-service API.
   */
  private answerMiniProgram(
    push: VerifiedPush,
    route: WechatRoute,
    claim: { id: string } | undefined,
    reply: WechatReply,
  ): string {
    const appId = push.account.appId;
    if (reply.kind === 'transfer_customer_service') {
      if (push.message.MsgType === 'event') {
        this.logger.warn(
          `${route.name} handed event ${String(push.message.Event)} over to customer service; only user messages can be, answered success`,
        );
        this.complete(appId, claim, SUCCESS);
        return this.answered(push, 'success', SUCCESS);
      }
      const body = this.render(push, reply);
      this.complete(appId, claim, body);
      return this.answered(push, 'replied', body);
    }
    this.complete(appId, claim, SUCCESS);
    void this.sendToCustomerService(push, route, reply, false);
    return this.answered(push, 'replied', SUCCESS);
  }

  private async deliverLate(push: VerifiedPush, route: WechatRoute, reply: WechatReply): Promise<void> {
    await this.sendToCustomerService(push, route, reply, true);
  }

  /** Sends a reply as the account's customer-service message; one with no equivalent is logged and dropped. */
  private async sendToCustomerService(
    push: VerifiedPush,
    route: WechatRoute,
    reply: WechatReply,
    late: boolean,
  ): Promise<void> {
    const openId = String(push.message.FromUserName ?? '');
    const miniProgram = accountKind(push.account) === 'miniProgram';
    const body = miniProgram
      ? replyToMiniProgramCustomerServiceMessage(reply, openId)
      : replyToCustomerServiceMessage(reply, openId);
    if (!body) {
      this.logger.warn(
        miniProgram
          ? `${route.name} returned a ${reply.kind} reply to a Mini Program push; a Mini Program has no ${reply.kind} customer-service message (text, image, link, miniprogrampage only), dropped`
          : `${route.name} returned a ${reply.kind} reply too late; it has no customer-service equivalent`,
      );
      if (late) this.metrics?.lateReply(push.account.appId, false);
      return;
    }
    const result = await this.sender.send(push.account.appId, body);
    if (late) this.metrics?.lateReply(push.account.appId, result.ok);
  }

  private handlerFailed(route: WechatRoute, push: VerifiedPush, error: unknown): void {
    this.stats.handlerErrors++;
    const what =
      push.message.MsgType === 'event'
        ? `event ${String(push.message.Event)}`
        : `message ${String(push.message.MsgType)}`;
    this.logger.error(
      `${route.name} failed on ${what} for ${push.account.appId}: ${(error as Error)?.stack ?? String(error)}`,
    );
  }

  /**
   * Records the answer for retries without holding the answer back: a retry sent after it finds it (the same
   * connection writes in order), and one racing it finds the claim and waits for the record.
   */
  private complete(appId: string, claim: { id: string } | undefined, response: string): void {
    if (!claim) return;
    this.dedupe.complete(appId, claim.id, response, this.options.dedupeTtlMs).catch((error: Error) => {
      this.logger.warn(`could not record a handled push for de-duplication: ${error.message}`);
    });
  }

  /** MsgId for messages; FromUserName + CreateTime + Event + EventKey for events; or the account's own key function. */
  private dedupeId(message: Record<string, unknown>): string | null {
    const type = String(message.MsgType === 'event' ? message.Event : message.MsgType);
    // own properties only: a push may name its type "constructor" or "__proto__"
    const custom = Object.hasOwn(this.options.dedupeKeys, type) ? this.options.dedupeKeys[type] : undefined;
    let raw: string | null;
    if (custom) raw = custom(message);
    else if (typeof message.MsgId === 'string' && message.MsgId) raw = `msg:${message.MsgId}`;
    else if (typeof message.FromUserName === 'string' && typeof message.CreateTime === 'string') {
      raw = `evt:${message.FromUserName}:${message.CreateTime}:${String(message.Event ?? '')}:${String(message.EventKey ?? '')}`;
    } else raw = null;
    return raw === null ? null : hash('sha1', raw, 'hex');
  }
}
