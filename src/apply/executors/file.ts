import { InternalError } from '../../core/errors.js';
import type { FileChange } from '../../plan/types.js';
import type { Executor } from './executor.js';
import { removeHostFiles } from './remove-files.js';

/** A managed file on a connector. Staged, not written: the unit change deploys all of them atomically. */
export const fileExecutor: Executor<FileChange> = {
  async apply(changes, ctx) {
    if (changes.every((c) => c.action === 'delete')) return removeHostFiles(changes, ctx);
    for (const change of changes) {
      if (!change.after) throw new InternalError(`${change.address}: a ${change.action} without its content`);
      ctx.stage(change.connector, {
        change,
        file: { path: change.path, content: ctx.resolve(change.after.content), mode: change.after.mode },
        validate: change.validate,
      });
    }
  },
};
