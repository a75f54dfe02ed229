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
