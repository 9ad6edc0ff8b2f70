/**
 * Runs `fn` over `items` with at most `concurrency` in flight. Results keep the input order, and
 * `onResult` sees them in input order, each as soon as every earlier one is done, so a writer can
 * stream them. The first error stops new work and is thrown once the running items settle; an
 * aborted `signal` stops new work the same way.
 */
export async function orderedPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  onResult?: (result: R, index: number) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  const done = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let emitted = 0;
  let failed = false;
  let emitting: Promise<void> = Promise.resolve();
  const emit = () => {
    emitting = emitting.then(async () => {
      while (emitted < items.length && done[emitted]) {
        const i = emitted++;
        await onResult?.(out[i], i);
      }
    });
    return emitting;
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length && !failed) {
      signal?.throwIfAborted();
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
        done[i] = true;
        await emit();
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  });
  const settled = await Promise.allSettled(workers);
  const firstError = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (firstError) throw firstError.reason;
  await emitting;
  return out;
}
