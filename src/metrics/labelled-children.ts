/**
 * Wraps a metric's `labels(...)` so that each labelled child is looked up once and then served from a map: on a
 * hot path (every read, every push) that is a map lookup instead of hashing the labels again.
 */
export function labelledChildren<C>(lookup: (...labels: string[]) => C): (...labels: string[]) => C {
  const children = new Map<string, C>();
  return (...labels) => {
    const key = labels.join('\n');
    let child = children.get(key);
    if (child === undefined) {
      child = lookup(...labels);
      children.set(key, child);
    }
    return child;
  };
}
