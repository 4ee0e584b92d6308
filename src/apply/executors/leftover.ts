import type { LeftoverChange } from '../../plan/types.js';
import { oneByOne } from './executor.js';

/** The token-run setup's leftovers: the update timer stopped and disabled, then the files removed (daemon-reload). */
export const leftoverExecutor = oneByOne<LeftoverChange>(async (change, ctx) => {
  const host = await ctx.connector(change.connector);
  for (const unit of change.units) {
    ctx.reporter.step(change.address, `stopping and disabling ${unit}`);
    await host.stopService(unit);
  }
  ctx.reporter.step(change.address, `removing ${change.paths.join(', ')}`);
  await host.removeFiles(change.paths, { reloadUnits: true });
  ctx.reporter.done(change.address, `${change.paths.length} file${change.paths.length === 1 ? '' : 's'} removed`);
});
