import { MANAGED_PATHS } from '../../plan/actual-state.js';
import type { UnitChange } from '../../plan/types.js';
import type { ExecutorContext } from '../executor-context.js';
import { oneByOne } from './executor.js';

/**
 * The cloudflared unit: deploys the files staged for its connector in one atomic swap (config
 * validated by cloudflared before it, everything rolled back if validation or the restart
 * fails), enables it and restarts it only if something it reads changed. The staged file
 * changes land together with it.
 */
export const unitExecutor = oneByOne<UnitChange>(async (change, ctx) => {
  if (change.action === 'delete') {
    // destroy: a graceful stop (cloudflared drains, then unregisters its connections), then disable.
    ctx.reporter.step(change.address, 'stopping cloudflared (graceful)');
    await (await ctx.connector(change.connector)).stopService(change.unit);
    ctx.reporter.done(change.address, 'stopped and disabled');
    return;
  }
  const staged = ctx.takeStaged(change.connector);
  const host = await ctx.connector(change.connector);
  ctx.reporter.step(change.address, change.restart ? 'deploying and restarting cloudflared' : 'deploying files');
  const result = await host.deploy({
    files: staged.map((s) => s.file),
    unit: change.unit,
    ...(staged.some((s) => s.validate) ? { validateConfig: MANAGED_PATHS.config } : {}),
    restart: change.restart,
    reloadUnits: staged.some((s) => s.file.path === MANAGED_PATHS.unitFile),
  });
  for (const s of staged) ctx.completed(s.change);
  ctx.restarted ||= result.restarted;
  ctx.reporter.done(change.address, result.restarted ? 'restarted' : 'files in place');
  if (result.restarted) await waitForTunnelConnections(ctx);
});

/**
 * A tunnel whose DNS routes exist but that has no connector answers 1016, so after a (re)start
 * we wait for Cloudflare to report edge connections. Not connecting in time is a warning, not a
 * failure: the service is installed and systemd keeps it retrying (e.g. no Internet yet).
 */
async function waitForTunnelConnections(ctx: ExecutorContext): Promise<void> {
  const { ports, reporter, inventory, tunnelId } = ctx;
  const address = `tunnel/${inventory.tunnel.name}`;
  const deadline = Date.now() + ctx.timeouts.tunnelConnectTimeoutMs;
  reporter.step(address, 'waiting for the connector to connect to Cloudflare');
  for (;;) {
    const tunnel = await ports.cloudflare.findTunnel(inventory.cloudflare.accountId, inventory.tunnel.name);
    if (tunnel && tunnel.id === tunnelId && tunnel.connections > 0) {
      reporter.done(address, `${tunnel.status}, ${tunnel.connections} connection${tunnel.connections === 1 ? '' : 's'}`);
      return;
    }
    if (Date.now() >= deadline) {
      reporter.warn(
        `${address} has no active connection yet (status ${tunnel?.status ?? 'unknown'}); cloudflared keeps retrying. ` +
          'Check that the connector can reach Cloudflare (outbound 7844/udp+tcp), then `proxflare status`.',
      );
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
