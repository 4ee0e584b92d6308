import { ProxflareError } from '../core/errors.js';
import { MANAGED_PATHS } from '../plan/actual-state.js';
import type { UnitChange } from '../plan/types.js';
import type { ConnectorHost, DeployRequest, ManagedFile, Readiness } from '../ports/connector.js';
import { renderedIngress, servesRendered } from '../render/served-config.js';
import { deployExtras } from './deploy-extras.js';
import type { ConnectorWatch } from './connector-wait.js';
import type { ExecutorContext, StagedFile } from './executor-context.js';

/**
 * A restart of a replica that was serving is one step of a rolling apply: validate, swap,
 * restart, then wait until *that* replica is healthy again — its `/ready` answers 200 (read on
 * the connector over SSH, inside the deploy) and Cloudflare lists its connector id on the
 * tunnel's connections endpoint, and its `/config` lists the new ingress — before the apply moves on to the next replica (the next unit
 * change of the same apply-order row). A replica that does not come back gets its previous files
 * and config again, and the apply stops there: the replicas after it are never touched.
 */
export function isRollingRestart(change: UnitChange): boolean {
  return change.restart && change.before !== undefined && change.before !== 'unknown' && change.before.active;
}

export async function rollingRestart(
  change: UnitChange,
  ctx: ExecutorContext,
  host: ConnectorHost,
  staged: StagedFile[],
  watch: ConnectorWatch,
): Promise<void> {
  const replica = change.connector;
  const serving = servingOthers(ctx, replica);
  const request = {
    files: staged.map((s) => s.file),
    unit: change.unit,
    ...(staged.some((s) => s.validate) ? { validateConfig: MANAGED_PATHS.config } : {}),
    restart: true,
    ...deployExtras(staged),
    readyTimeoutSeconds: Math.max(1, Math.round(ctx.timeouts.healthTimeoutMs / 1000)),
  };
  ctx.reporter.step(change.address, 'deploying and restarting cloudflared (health-gated: /ready, then the connections endpoint)');
  let ready;
  try {
    ready = (await host.deploy(request)).ready;
  } catch (err) {
    // The deploy script has put the previous files back and restarted the old config.
    throw notBack(ctx, replica, serving, (err as Error).message);
  }
  for (const s of staged) ctx.completed(s.change);
  ctx.restarted = true;
  ctx.reporter.done(change.address, `restarted; /ready 200, ${ready?.readyConnections ?? 0} ready connections`);
  const stale = await configGate(change, ctx, staged, ready);
  if (stale !== undefined) {
    await rollBack(change, ctx, host, staged, request, `its /config does not show the new ingress (${stale})`);
    throw notBack(
      ctx,
      replica,
      serving,
      `its /config does not show the new ingress: ${stale}${previousFiles(staged) ? '; its previous files were restored and cloudflared restarted with them' : ''}`,
    );
  }
  if (!ready?.connectorId) {
    // A cloudflared whose /ready names no connector (older releases): any fresh connector will do.
    await watch.waitForRestarted();
    return;
  }
  if (await watch.waitForConnector(ready.connectorId)) return;

  // /ready passed but Cloudflare does not list the connector: put the previous files back.
  const previous = await rollBack(change, ctx, host, staged, request, 'the connector is not listed by Cloudflare');
  throw notBack(
    ctx,
    replica,
    serving,
    `connector ${ready.connectorId} is not listed on the tunnel's connections endpoint` +
      (previous
        ? '; its previous files were restored and cloudflared restarted with them'
        : '; its previous files are not known, so they were left in place'),
  );
}

/**
 * The third gate: the replica's metrics `/config` must list the ingress proxflare rendered
 * (cloudflared reads config.yml once, at start; a unit pointing at another file, or a process
 * that never restarted, keeps serving the old rules). Returns why not, or undefined when it
 * serves them. Without the config among the staged files there is nothing new to compare.
 */
async function configGate(
  change: UnitChange,
  ctx: ExecutorContext,
  staged: StagedFile[],
  ready: Readiness | undefined,
): Promise<string | undefined> {
  const config = staged.find((s) => s.file.path === MANAGED_PATHS.config);
  if (!config) return undefined;
  const rendered = renderedIngress(config.file.content);
  if (!rendered) return undefined;
  if (!ready?.config) {
    ctx.reporter.warn(`${change.address}: cloudflared's /config did not answer, so the running ingress could not be compared`);
    return undefined;
  }
  const served = servesRendered(ready.config, rendered);
  if (served.current) {
    ctx.reporter.done(change.address, `/config serves the new ingress (${rendered.length} rules)`);
    return undefined;
  }
  return served.why;
}

async function rollBack(
  change: UnitChange,
  ctx: ExecutorContext,
  host: ConnectorHost,
  staged: StagedFile[],
  request: DeployRequest,
  why: string,
): Promise<ManagedFile[] | undefined> {
  const previous = previousFiles(staged);
  if (previous) {
    ctx.reporter.step(change.address, `rolling back: ${why}`);
    await host.deploy({ ...request, files: previous, readyTimeoutSeconds: undefined });
    for (const s of staged) ctx.uncompleted(s.change);
  }
  return previous;
}

/** The files as they were before this deploy, when the plan read all of them (never the credentials' secret). */
function previousFiles(staged: StagedFile[]): ManagedFile[] | undefined {
  const files: ManagedFile[] = [];
  for (const s of staged) {
    if (s.change.kind !== 'file' || !s.change.before || s.change.before === 'unknown') return undefined;
    files.push({ path: s.file.path, content: s.change.before.content, mode: s.change.before.mode });
  }
  return files;
}

function servingOthers(ctx: ExecutorContext, replica: string): string[] {
  return ctx.inventory.connectors.filter((c) => c.hostname !== replica && !c.standby).map((c) => c.hostname);
}

function notBack(ctx: ExecutorContext, replica: string, serving: string[], why: string): ProxflareError {
  const traffic =
    serving.length > 0
      ? `traffic is still served by ${serving.join(', ')}, which ${serving.length === 1 ? 'was' : 'were'} not touched`
      : 'it is the only serving replica: check `proxflare status`';
  // The configuration was replaced before the restart (apply order), and the edge pushes it over config.yml.
  const remote = ctx.anyCompleted('tunnel-config')
    ? '\nThe tunnel is remotely managed and Cloudflare already holds the new configuration: every connector serves the new routes whatever its config.yml says; run sync again once the replica is healthy.'
    : '';
  return new ProxflareError(
    `replica ${replica} did not come back healthy and was rolled back; the apply stopped there and ${traffic}.\n${why}${remote}`,
  );
}
