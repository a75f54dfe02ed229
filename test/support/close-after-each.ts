/**
 * Registers an `afterEach` in the calling spec file (or `describe` block) that runs, last first, every close a
 * test handed to the returned function: a test starts what it needs and says once, right there, how to stop it.
 */
export function closeAfterEach(): (close: () => unknown) => void {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of pending.splice(0).reverse()) await close();
  });
  return (close) => {
    pending.push(close);
  };
}
