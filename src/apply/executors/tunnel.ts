import { InternalError } from '../../core/errors.js';
import type { TunnelChange } from '../../plan/types.js';
import { oneByOne } from './executor.js';

/** The named tunnel. Only `create` exists: a tunnel is never renamed or replaced by a plan. */
export const tunnelExecutor = oneByOne<TunnelChange>(async (change, ctx) => {
  if (change.action !== 'create') throw new InternalError(`${change.address}: a tunnel is only ever created, not "${change.action}"`);
  ctx.reporter.step(change.address, 'creating tunnel');
  const created = await ctx.ports.cloudflare.createTunnel(change.accountId, change.after.name);
  ctx.tunnelId = created.tunnel.id;
  ctx.credentials = created.credentials;
  ctx.reporter.done(change.address, `id ${ctx.tunnelId}`);
});
