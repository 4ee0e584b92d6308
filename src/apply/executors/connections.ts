import type { ConnectionsChange } from '../../plan/types.js';
import { oneByOne } from './executor.js';

/** destroy: the tunnel's connection records, removed (`cloudflared tunnel cleanup`) after cloudflared stopped. */
export const connectionsExecutor = oneByOne<ConnectionsChange>(async (change, ctx) => {
  ctx.reporter.step(change.address, 'cleaning up the tunnel connections');
  await ctx.ports.cloudflare.deleteTunnelConnections(change.accountId, change.tunnelId);
  ctx.reporter.done(change.address);
});
