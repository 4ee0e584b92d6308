import type { Change, ResourceKind } from '../../plan/types.js';
import type { ExecutorContext } from '../executor-context.js';

/**
 * Carries out the changes of one kind. `apply` gets the changes of one apply-order row, in
 * plan order, and calls `ctx.completed(change)` as each one lands, so a failure names the
 * change it stopped at. A change it leaves uncompleted without failing (a staged file) must be
 * completed by a later executor (the unit deploy) before apply ends.
 */
export interface Executor<C extends Change> {
  apply(changes: readonly C[], ctx: ExecutorContext): Promise<void>;
}

/** One executor per change kind; a kind without one does not compile. */
export type Executors = { [K in ResourceKind]: Executor<Extract<Change, { kind: K }>> };

/** An executor that handles its changes one at a time. */
export function oneByOne<C extends Change>(run: (change: C, ctx: ExecutorContext) => Promise<void>): Executor<C> {
  return {
    async apply(changes, ctx) {
      for (const change of changes) {
        await run(change, ctx);
        ctx.completed(change);
      }
    },
  };
}
