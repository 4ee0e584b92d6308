import type { StagingFileChange } from '../../plan/types.js';
import type { Executor } from './executor.js';

/**
 * Stale staging files of ours on a connector: removed in one command per connector, under the
 * connector lock (`ctx.connector` takes it), so no deploy of ours is writing them at that moment.
 */
export const stagingFileExecutor: Executor<StagingFileChange> = {
  async apply(changes, ctx) {
    const byConnector = new Map<string, StagingFileChange[]>();
    for (const c of changes) byConnector.set(c.connector, [...(byConnector.get(c.connector) ?? []), c]);
    for (const [connector, list] of byConnector) {
      const host = await ctx.connector(connector);
      ctx.reporter.step(list[0]!.address, `removing ${list.length} stale staging file${list.length === 1 ? '' : 's'}`);
      const inUse = await host.removeStaging(list.map((c) => c.path));
      // One whose deploy started running again since the plan (an orphaned remote script) is its own.
      for (const path of inUse)
        ctx.reporter.warn(
          `${list.find((c) => c.path === path)?.address ?? path}: its deploy is still running on the connector; left in place`,
        );
      for (const c of list) ctx.completed(c);
      ctx.reporter.done(list[0]!.address, 'removed');
    }
  },
};
