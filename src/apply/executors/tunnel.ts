import { InternalError, ProviderError } from '../../core/errors.js';
import type { TunnelChange } from '../../plan/types.js';
import type { ExecutorContext } from '../executor-context.js';
import { oneByOne } from './executor.js';

/** The named tunnel: created by sync, deleted by destroy; never renamed or replaced by a plan. */
export const tunnelExecutor = oneByOne<TunnelChange>(async (change, ctx) => {
  if (change.action === 'delete') return deleteTunnel(change, ctx);
  if (change.action !== 'create' || !change.after)
    throw new InternalError(`${change.address}: a tunnel is only ever created or deleted, not "${change.action}"`);
  ctx.reporter.step(change.address, 'creating tunnel');
  const created = await ctx.ports.cloudflare.createTunnel(change.accountId, change.after.name);
  ctx.tunnelId = created.tunnel.id;
  ctx.credentials = created.credentials;
  ctx.reporter.done(change.address, `id ${ctx.tunnelId}`);
});

/** Attempts at a delete refused with 1022, each after a cleanup of the connections. */
const DELETE_ATTEMPTS = 3;

/**
 * 1022 ("This tunnel has active connections") after the connector was stopped means the edge
 * still lists its connections: clean them up and try again. If they keep coming back, a
 * cloudflared proxflare did not stop runs this tunnel, and destroy says so instead of cutting
 * it off (no `?cascade=true`, which `cloudflared tunnel delete -f` sends).
 */
async function deleteTunnel(change: TunnelChange, ctx: ExecutorContext): Promise<void> {
  const { id, name } = change.before!;
  ctx.reporter.step(change.address, `deleting tunnel ${id}`);
  for (let attempt = 1; ; attempt++) {
    if ((await ctx.ports.cloudflare.deleteTunnel(change.accountId, id)) === 'deleted') break;
    if (attempt >= DELETE_ATTEMPTS) {
      throw new ProviderError(
        'cloudflare',
        `delete tunnel ${id}`,
        `the tunnel still has active connections after ${DELETE_ATTEMPTS - 1} cleanups (error 1022): a cloudflared proxflare did not stop is running this tunnel`,
        `stop every other cloudflared that runs tunnel ${name} (the Cloudflare dashboard lists its connectors), then re-run destroy`,
      );
    }
    ctx.reporter.step(change.address, 'the tunnel still has connections (1022): cleaning them up, then retrying');
    await ctx.ports.cloudflare.deleteTunnelConnections(change.accountId, id);
    // Give the edge a moment to forget the connections it just dropped (real API; instant in the simulator).
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
  ctx.reporter.done(change.address, 'deleted (its credentials are now invalid)');
}
