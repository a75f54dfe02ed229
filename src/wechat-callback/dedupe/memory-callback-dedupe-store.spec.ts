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

  it('costs the same per push far past its capacity as before it (300,000 pushes through a store of 100,000)', async () => {
    const store = new MemoryCallbackDedupeStore(100_000);
    const batchUs: number[] = [];
    for (let batch = 0; batch < 30; batch++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < 10_000; i++) {
        const id = `m${batch}-${i}`;
        await store.claim('wx1', id, 'o', 10_000);
        await store.complete('wx1', id, '<xml>reply</xml>', 120_000);
      }
      batchUs.push(Number(process.hrtime.bigint() - started) / 1000 / 10_000);
    }
    expect(await store.peek('wx1', 'm0-0')).toBeNull();
    expect(await store.peek('wx1', 'm29-9999')).toEqual({ state: 'done', response: '<xml>reply</xml>' });
    // walking the Map from its front made a push 10–80× dearer past 150,000 pushes (holes left by deletions);
    // compared with the store's own early batches, so a busy machine slows both sides alike
    const median = (values: number[]): number =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    expect(median(batchUs.slice(20))).toBeLessThan(4 * median(batchUs.slice(2, 10)));
  });

  it('evicts by first write: a key released and claimed again is not evicted in place of an older one', async () => {
    const store = new MemoryCallbackDedupeStore(3);
    await store.claim('wx1', 'a', 'o', 10_000);
    await store.claim('wx1', 'b', 'o', 10_000);
    await store.release('wx1', 'a', 'o');
    await store.claim('wx1', 'a', 'p', 10_000); // written again: now the newest
    await store.claim('wx1', 'c', 'o', 10_000);
    await store.claim('wx1', 'd', 'o', 10_000); // full: the oldest (b) goes
    expect(await store.peek('wx1', 'b')).toBeNull();
    expect(await store.peek('wx1', 'a')).toEqual({ state: 'processing' });
    expect(await store.peek('wx1', 'd')).toEqual({ state: 'processing' });
  });
});
