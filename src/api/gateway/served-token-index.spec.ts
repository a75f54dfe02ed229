import { AccountConfig } from '../../accounts/account-config';
import { AccountRegistry } from '../../accounts/account-registry';
import type { AccessToken, TokenLearnedListener, TokenService } from '../../token/token.service';
import { ServedTokenIndex, TOKENS_PER_ACCOUNT } from './served-token-index';

const HOUR = 3_600_000;

/** The part of TokenService the index uses: tokens announced as learned, and peek (a store read). */
class FakeTokens {
  private readonly listeners = new Set<TokenLearnedListener>();
  /** What the shared store holds per account (peek announces it, as TokenService does). */
  readonly stored = new Map<string, AccessToken>();
  peeks = 0;

  onTokenLearned(listener: TokenLearnedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  learn(
    appId: string,
    value: string,
    forcedByOperator = false,
    expiresAt = Date.now() + 2 * HOUR,
  ): AccessToken {
    const token = { value, version: 1, expiresAt: new Date(expiresAt) };
    for (const listener of this.listeners) listener(appId, token, { forcedByOperator });
    return token;
  }

  async peek(appId: string): Promise<AccessToken | null> {
    this.peeks += 1;
    const token = this.stored.get(appId) ?? null;
    if (token) for (const listener of this.listeners) listener(appId, token, { forcedByOperator: false });
    return token;
  }
}

const appIdOf = (i: number): string => `wx${String(i).padStart(16, '0')}`;

function index(accountCount: number): { served: ServedTokenIndex; tokens: FakeTokens } {
  const accounts = Array.from({ length: accountCount }, (_, i) =>
    Object.assign(new AccountConfig(), {
      appId: appIdOf(i),
      appSecret: `secret${String(i).padStart(16, '0')}`,
    }),
  );
  const tokens = new FakeTokens();
  const served = new ServedTokenIndex(tokens as unknown as TokenService, new AccountRegistry(accounts));
  return { served, tokens };
}

afterEach(() => jest.restoreAllMocks());

describe('ServedTokenIndex', () => {
  it("knows every account's current token with 10,000 accounts, without reading the store", async () => {
    const { served, tokens } = index(10_000);
    for (let i = 0; i < 10_000; i++) tokens.learn(appIdOf(i), `current-${i}`);

    for (let i = 0; i < 10_000; i++) expect(await served.appIdOf(`current-${i}`)).toBe(appIdOf(i));
    expect(tokens.peeks).toBe(0);
  });

  it('keeps the last tokens of each account and forgets older ones, whatever the other accounts do', async () => {
    const { served, tokens } = index(2);
    const values = Array.from({ length: TOKENS_PER_ACCOUNT + 2 }, (_, i) => `a-${i}`);
    for (const value of values) tokens.learn(appIdOf(0), value);
    for (let i = 0; i < 100; i++) tokens.learn(appIdOf(1), `b-${i}`);

    const recognised = await Promise.all(values.map((value) => served.appIdOf(value)));
    expect(recognised).toEqual([undefined, undefined, ...values.slice(2).map(() => appIdOf(0))]);
    expect(await served.appIdOf('b-99')).toBe(appIdOf(1));
    expect(served.size).toBe(2 * TOKENS_PER_ACCOUNT);
  });

  it("drops an account's older tokens on an operator's forced refresh, and only that account's", async () => {
    const { served, tokens } = index(2);
    tokens.learn(appIdOf(0), 'leaked');
    tokens.learn(appIdOf(1), 'other');
    tokens.learn(appIdOf(0), 'after-force', true);

    expect(await served.appIdOf('leaked')).toBeUndefined();
    expect(await served.appIdOf('after-force')).toBe(appIdOf(0));
    expect(await served.appIdOf('other')).toBe(appIdOf(1));
  });

  it('stops recognising a token 10 minutes after its expiry', async () => {
    const { served, tokens } = index(1);
    const now = Date.now();
    tokens.learn(appIdOf(0), 'short', false, now + 1_000);
    expect(await served.appIdOf('short')).toBe(appIdOf(0));

    jest.spyOn(Date, 'now').mockReturnValue(now + 1_000 + 10 * 60_000 + 1);
    expect(await served.appIdOf('short')).toBeUndefined();
  });

  it('finds a token fetched by another instance through the store, and re-reads the store at most once a second', async () => {
    const { served, tokens } = index(3);
    tokens.stored.set(appIdOf(2), { value: 'elsewhere', version: 2, expiresAt: new Date(Date.now() + HOUR) });

    expect(await served.appIdOf('elsewhere')).toBe(appIdOf(2));
    expect(tokens.peeks).toBe(3);
    for (let i = 0; i < 50; i++) expect(await served.appIdOf(`foreign-${i}`)).toBeUndefined();
    expect(tokens.peeks).toBe(3);
  });

  it('re-reads a large fleet less often: 10,000 accounts at most every 5 s', async () => {
    const { served, tokens } = index(10_000);
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    expect(await served.appIdOf('foreign-1')).toBeUndefined();
    expect(tokens.peeks).toBe(10_000);

    clock.mockReturnValue(now + 2_000);
    expect(await served.appIdOf('foreign-2')).toBeUndefined();
    expect(tokens.peeks).toBe(10_000);

    clock.mockReturnValue(now + 5_001);
    expect(await served.appIdOf('foreign-3')).toBeUndefined();
    expect(tokens.peeks).toBe(20_000);
  });
});
