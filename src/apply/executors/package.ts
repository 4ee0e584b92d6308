import type { PackageChange } from '../../plan/types.js';
import { oneByOne } from './executor.js';

/** cloudflared on a connector, from apt or an uploaded .deb. */
export const packageExecutor = oneByOne<PackageChange>(async (change, ctx) => {
  const host = await ctx.connector(change.connector);
  ctx.reporter.step(change.address, change.source.type === 'deb' ? `installing ${change.source.path}` : 'installing from apt');
  const version = await host.installCloudflared(change.source);
  ctx.reporter.done(change.address, `cloudflared ${version}`);
});
