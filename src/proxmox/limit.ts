export interface Limit {
  /** Runs `fn` when fewer than `concurrency` run; `first` jumps the queue. */
  <T>(fn: () => Promise<T>, options?: { first?: boolean }): Promise<T>;
}

/**
 * A tiny p-limit: at most `concurrency` of the wrapped functions run at once. The few reads
 * something else waits for (the connector, before its SSH read can start) go `first`, ahead of
 * a thousand guest discoveries queued before them.
 */
export function createLimit(concurrency: number): Limit {
  const max = Math.max(1, Math.floor(concurrency));
  let active = 0;
  const firsts: (() => void)[] = [];
  const queue: (() => void)[] = [];
  const next = () => {
    if (active >= max) return;
    const run = firsts.shift() ?? queue.shift();
    if (run) run();
  };
  return <T>(fn: () => Promise<T>, options: { first?: boolean } = {}) =>
    new Promise<T>((resolve, reject) => {
      const run = () => {
        active++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      };
      (options.first ? firsts : queue).push(run);
      next();
    });
}
