import { MANAGED_PATHS } from '../../plan/actual-state.js';
import type { UnitChange } from '../../plan/types.js';
import type { ExecutorContext, StagedFile } from '../executor-context.js';
import type { ConnectorHost } from '../../ports/connector.js';
import { watchConnectorRestart } from '../connector-wait.js';
import { oneByOne } from './executor.js';
import { deployExtras } from '../deploy-extras.js';
import { isRollingRestart, rollingRestart } from '../rolling-restart.js';

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
  if (change.after && !change.after.active) return deployStandby(change, ctx, host, staged);
  // Connectors listed before the restart, so a lingering old one does not end the wait.
  const watch = await watchConnectorRestart({
    cloudflare: ctx.ports.cloudflare,
    reporter: ctx.reporter,
    accountId: ctx.inventory.cloudflare.accountId,
    tunnelId: ctx.tunnelId,
    address: `tunnel/${ctx.inventory.tunnel.name}`,
    timeoutMs: ctx.timeouts.tunnelConnectTimeoutMs,
  });
  if (isRollingRestart(change)) return rollingRestart(change, ctx, host, staged, watch);
  ctx.reporter.step(change.address, change.restart ? 'deploying and restarting cloudflared' : 'deploying files');
  const result = await host.deploy({
    files: staged.map((s) => s.file),
    unit: change.unit,
    ...(staged.some((s) => s.validate) ? { validateConfig: MANAGED_PATHS.config } : {}),
    restart: change.restart,
    ...deployExtras(staged),
  });
  for (const s of staged) ctx.completed(s.change);
  ctx.restarted ||= result.restarted;
  ctx.reporter.done(change.address, result.restarted ? 'restarted' : 'files in place');
  if (result.restarted) await watch.waitForRestarted();
});

/**
 * A standby replica: its files are validated and swapped like any other (so a promotion only
 * starts it), then the unit is stopped and disabled. It never registers with the tunnel.
 */
async function deployStandby(change: UnitChange, ctx: ExecutorContext, host: ConnectorHost, staged: StagedFile[]): Promise<void> {
  if (staged.length > 0) {
    ctx.reporter.step(change.address, 'deploying files (standby, not started)');
    await host.deploy({
      files: staged.map((s) => s.file),
      unit: change.unit,
      ...(staged.some((s) => s.validate) ? { validateConfig: MANAGED_PATHS.config } : {}),
      restart: false,
      ...deployExtras(staged),
    });
    for (const s of staged) ctx.completed(s.change);
  }
  await host.stopService(change.unit);
  ctx.reporter.done(change.address, 'standby: disabled and stopped');
}
