import type { FileChange } from '../../plan/types.js';
import type { Executor } from './executor.js';

/** A managed file on a connector. Staged, not written: the unit change deploys all of them atomically. */
export const fileExecutor: Executor<FileChange> = {
  async apply(changes, ctx) {
    for (const change of changes) {
      ctx.stage(change.connector, {
        change,
        file: { path: change.path, content: ctx.resolve(change.after.content), mode: change.after.mode },
        validate: change.validate,
      });
    }
  },
};
