import { MemoryCallbackDedupeStore } from './memory-callback-dedupe-store';

describe('MemoryCallbackDedupeStore', () => {
  it('claims once, reports processing, then the recorded response', async () => {
    const store = new MemoryCallbackDedupeStore();
    expect(await store.claim('wx1', 'm1', 'a', 10_000)).toEqual({ state: 'claimed' });
    expect(await store.claim('wx1', 'm1', 'b', 10_000)).toEqual({ state: 'processing' });
    await store.complete('wx1', 'm1', '<xml/>', 60_000);
    expect(await store.claim('wx1', 'm1', 'c', 10_000)).toEqual({ state: 'done', response: '<xml/>' });
  });

  it('lets a released claim be taken again, but only the owner can release it', async () => {
    const store = new MemoryCallbackDedupeStore();
    await store.claim('wx1', 'm2', 'a', 10_000);
    await store.release('wx1', 'm2', 'someone-else');
    expect(await store.peek('wx1', 'm2')).toEqual({ state: 'processing' });
    await store.release('wx1', 'm2', 'a');
    expect(await store.claim('wx1', 'm2', 'b', 10_000)).toEqual({ state: 'claimed' });
  });

  it('forgets a claim after its lease', async () => {
    const store = new MemoryCallbackDedupeStore();
    await store.claim('wx1', 'm3', 'a', 30);
    await new Promise((r) => setTimeout(r, 50));
    expect(await store.claim('wx1', 'm3', 'b', 10_000)).toEqual({ state: 'claimed' });
  });

  it('stays bounded when full by dropping the oldest entries, at a constant cost per push', async () => {
    const store = new MemoryCallbackDedupeStore(10_000);
    for (let i = 0; i < 10_000; i++) await store.complete('wx1', `old${i}`, 'success', 60_000);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 10_000; i++) await store.claim('wx1', `new${i}`, 'o', 60_000);
    const perPushUs = Number(process.hrtime.bigint() - started) / 1000 / 10_000;
    expect(await store.peek('wx1', 'old0')).toBeNull();
    expect(await store.peek('wx1', 'old9999')).toBeNull();
    expect(await store.peek('wx1', 'new9999')).toEqual({ state: 'processing' });
    // a scan of the full store per push would cost hundreds of µs here
    expect(perPushUs).toBeLessThan(50);
  });
});
