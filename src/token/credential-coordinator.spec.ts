import { MetricsService } from '../metrics/metrics.service';
import { MemoryTokenStore } from '../store/memory-token-store';
import type { CredentialRecord } from '../store/token-store';
import { CredentialCoordinator, type CoordinatedStep } from './credential-coordinator';
import { TokenUnavailableError } from './errors/token-unavailable.error';
import { resolveTokenPlaneOptions } from './token-plane-options';

const APP = 'wxcoordinator00001';

/** A refresh that waits for `release` before storing a fresh token. */
function slowRefresh(
  coordinator: CredentialCoordinator,
  release: Promise<void>,
): CoordinatedStep<CredentialRecord> {
  return {
    satisfied: (record) => (record && record.expiresAt > Date.now() + 60_000 ? record : undefined),
    work: async (current) => {
      await release;
      const saved = await coordinator.save(
        APP,
        'token',
        current,
        { value: 'fresh-token', expiresInSeconds: 7200, startedAt: Date.now() },
        { endpoint: 'stable', source: 'test' },
      );
      return saved.record;
    },
  };
}

async function lockWaitSamples(metrics: MetricsService): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith('wxhub_lock_wait_seconds_count'));
}

/**
 * Two instances sharing one store, the first holding the refresh lock until `release()`; only the second reports
 * metrics, so every sample is its own.
 */
async function lockHeldByAnotherInstance(waitTimeoutMs: number): Promise<{
  metrics: MetricsService;
  second: CredentialCoordinator;
  holder: Promise<CredentialRecord>;
  release: () => void;
}> {
  const store = new MemoryTokenStore();
  const metrics = new MetricsService();
  const options = resolveTokenPlaneOptions({ accounts: [], waitTimeoutMs });
  const first = new CredentialCoordinator(store, { ...options, instanceId: 'a' });
  const second = new CredentialCoordinator(store, { ...options, instanceId: 'b' }, metrics);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holder = first.coordinate(APP, 'token', slowRefresh(first, released));
  await new Promise((r) => setTimeout(r, 20)); // the first instance holds the lock now
  return { metrics, second, holder, release };
}

describe('CredentialCoordinator lock wait metric', () => {
  it('times a caller that waited for the refresh another instance was running, and only that caller', async () => {
    const { metrics, second, holder, release } = await lockHeldByAnotherInstance(5_000);
    const waiter = second.coordinate(APP, 'token', slowRefresh(second, Promise.resolve()));
    await new Promise((r) => setTimeout(r, 300));
    release();

    expect((await holder).value).toBe('fresh-token');
    expect((await waiter).value).toBe('fresh-token');
    expect(await lockWaitSamples(metrics)).toEqual([
      'wxhub_lock_wait_seconds_count{kind="token",outcome="done"} 1',
    ]);
    const sum = (await metrics.registry.metrics())
      .split('\n')
      .find((line) => line.startsWith('wxhub_lock_wait_seconds_sum{kind="token",outcome="done"}'));
    expect(Number(sum!.split(' ')[1])).toBeGreaterThanOrEqual(0.25);

    // a caller that finds the token fresh waits for nothing and records nothing
    await second.coordinate(APP, 'token', slowRefresh(second, Promise.resolve()));
    expect(await lockWaitSamples(metrics)).toEqual([
      'wxhub_lock_wait_seconds_count{kind="token",outcome="done"} 1',
    ]);
  });

  it('records a wait that timed out', async () => {
    const { metrics, second, holder, release } = await lockHeldByAnotherInstance(200);

    await expect(
      second.coordinate(APP, 'token', slowRefresh(second, Promise.resolve())),
    ).rejects.toBeInstanceOf(TokenUnavailableError);
    expect(await lockWaitSamples(metrics)).toEqual([
      'wxhub_lock_wait_seconds_count{kind="token",outcome="timeout"} 1',
    ]);
    release();
    await holder;
  });
});

describe('CredentialCoordinator writes', () => {
  const record = (value: string, version: number, fetchedAt: number): CredentialRecord => ({
    value,
    version,
    fetchedAt,
    expiresAt: fetchedAt + 7_200_000,
    endpoint: 'legacy',
    source: 'test',
  });
  const fetch = (value: string, startedAt: number) => ({ value, expiresInSeconds: 7200, startedAt });
  const meta = { endpoint: 'legacy' as const, source: 'test' };

  it('keeps the token whose fetch started last: a fetch that started earlier and was written meanwhile loses', async () => {
    const store = new MemoryTokenStore();
    const coordinator = new CredentialCoordinator(store, {
      ...resolveTokenPlaneOptions({ accounts: [] }),
      instanceId: 'b',
    });
    const now = Date.now();
    await store.compareAndSet(APP, 'token', record('first', 1, now - 60_000), 0);
    const read = await store.get(APP, 'token');
    // a holder whose lease ran out finishes its older fetch after this read
    await store.compareAndSet(APP, 'token', record('older', 2, now - 1_000), 1);

    const saved = await coordinator.save(APP, 'token', read, fetch('newer', now), meta);
    expect(saved).toMatchObject({ record: { value: 'newer', version: 3 }, changed: true });
    expect(await store.get(APP, 'token')).toMatchObject({ value: 'newer', version: 3 });

    // the other way round, the write based on the old read keeps what the store holds
    const stale = await coordinator.save(APP, 'token', read, fetch('stale', now - 500), meta);
    expect(stale).toMatchObject({ record: { value: 'newer', version: 3 }, changed: false });
    expect(await store.get(APP, 'token')).toMatchObject({ value: 'newer', version: 3 });
  });
});
