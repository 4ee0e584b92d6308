import type { ApplyReportEntry } from '../core/errors.js';
import { ApplyError, ProviderError, ProxflareError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { ConnectorHost } from '../ports/connector.js';
import type { Change, ConnectionsChange, DnsChange, FileChange, LxcChange, Plan, TunnelChange, UnitChange } from '../plan/types.js';
import { MANAGED_PATHS } from '../sync/actual-state.js';
import type { Ports } from '../sync/ports.js';

export interface DestroyContext {
  inventory: Inventory;
  ports: Ports;
  reporter: Reporter;
  /** The connection opened while reading; the caller closes it. */
  host: ConnectorHost | undefined;
  lockWaitMs?: number;
  /** How often a tunnel delete refused with 1022 is retried after cleaning up connections. */
  tunnelDeleteAttempts?: number;
}

/** One step: the changes it carries out, reported applied/failed/pending together. */
interface Step {
  changes: Change[];
  run(): Promise<void>;
}

/**
 * Execute a destroy plan in its order (the plan is already in the traffic-safe order, see
 * plan-destroy.ts). Stops at the first failure with what was applied, what failed and what
 * is pending; every executor checks before it acts, so a second `destroy` finishes the job.
 */
export async function applyDestroy(plan: Plan, ctx: DestroyContext): Promise<ApplyReportEntry[]> {
  const pending = plan.changes.filter((c) => c.action === 'delete');
  const steps: Step[] = [];
  let releaseLock: (() => Promise<void>) | undefined;

  const needsHost = pending.some((c) => c.kind === 'unit' || c.kind === 'file');
  if (needsHost) {
    steps.push({
      changes: [],
      run: async () => {
        releaseLock = await requireHost(ctx).lock(`tunnel-${ctx.inventory.tunnel.name}`, ctx.lockWaitMs ?? 10_000);
      },
    });
  }
  const dns = pending.filter((c): c is DnsChange => c.kind === 'dns');
  const files = pending.filter((c): c is FileChange => c.kind === 'file');
  for (const change of pending) {
    // Consecutive changes of one kind that the API takes in one call run as one step.
    if (change.kind === 'dns') {
      if (change === dns[0]) steps.push({ changes: dns, run: () => deleteDns(dns, ctx) });
    } else if (change.kind === 'file') {
      if (change === files[0]) steps.push({ changes: files, run: () => removeFiles(files, ctx) });
    } else {
      steps.push({ changes: [change], run: () => executeDelete(change, ctx) });
    }
  }

  const applied: ApplyReportEntry[] = [];
  const entry = (c: Change): ApplyReportEntry => ({ address: c.address, action: c.action });
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      try {
        await step.run();
      } catch (err) {
        const failed = step.changes[0] ? entry(step.changes[0]) : { address: 'connector', action: 'lock' };
        const rest = [...step.changes.slice(1), ...steps.slice(i + 1).flatMap((s) => s.changes)].map(entry);
        throw new ApplyError(applied, { ...failed, error: err instanceof Error ? err.message : String(err) }, rest, 'destroy');
      }
      applied.push(...step.changes.map(entry));
    }
  } finally {
    if (releaseLock) await releaseLock().catch(() => undefined);
  }
  return applied;
}

function executeDelete(change: Change, ctx: DestroyContext): Promise<void> {
  switch (change.kind) {
    case 'unit':
      return stopService(change, ctx);
    case 'connections':
      return cleanupConnections(change, ctx);
    case 'tunnel':
      return deleteTunnel(change, ctx);
    case 'lxc':
      return destroyLxc(change, ctx);
    default:
      throw new ProxflareError(`destroy cannot delete ${change.address} (kind ${change.kind})`);
  }
}

async function deleteDns(changes: DnsChange[], ctx: DestroyContext): Promise<void> {
  const byZone = new Map<string, DnsChange[]>();
  for (const c of changes) byZone.set(c.zoneId, [...(byZone.get(c.zoneId) ?? []), c]);
  for (const [zoneId, list] of byZone) {
    const zoneName = list[0]!.zoneName;
    ctx.reporter.step(`dns/${zoneName}`, `deleting ${list.length} record${list.length === 1 ? '' : 's'}`);
    await ctx.ports.cloudflare.applyDnsChanges({
      zoneId,
      zoneName,
      creates: [],
      updates: [],
      deletes: list.map((c) => ({ id: c.before!.id, name: c.before!.name })),
    });
    ctx.reporter.done(`dns/${zoneName}`);
  }
}

async function stopService(change: UnitChange, ctx: DestroyContext): Promise<void> {
  ctx.reporter.step(change.address, 'stopping cloudflared (graceful)');
  await requireHost(ctx).stopService(change.unit);
  ctx.reporter.done(change.address, 'stopped and disabled');
}

async function cleanupConnections(change: ConnectionsChange, ctx: DestroyContext): Promise<void> {
  ctx.reporter.step(change.address, 'cleaning up the tunnel connections');
  await ctx.ports.cloudflare.deleteTunnelConnections(change.accountId, change.tunnelId);
  ctx.reporter.done(change.address);
}

/**
 * 1022 ("This tunnel has active connections") after the connector was stopped means the
 * edge still lists its connections: clean them up and try again. If they keep coming back,
 * a cloudflared we did not stop runs this tunnel, and we say so instead of cutting it off.
 */
async function deleteTunnel(change: TunnelChange, ctx: DestroyContext): Promise<void> {
  const id = change.before!.id;
  const attempts = ctx.tunnelDeleteAttempts ?? 3;
  ctx.reporter.step(change.address, `deleting tunnel ${id}`);
  for (let attempt = 1; ; attempt++) {
    const result = await ctx.ports.cloudflare.deleteTunnel(change.accountId, id);
    if (result === 'deleted') break;
    if (attempt >= attempts) {
      throw new ProviderError(
        'cloudflare',
        `delete tunnel ${id}`,
        `the tunnel still has active connections after ${attempts - 1} cleanup${attempts === 2 ? '' : 's'} (error 1022): a cloudflared proxflare did not stop is running this tunnel`,
        `stop every other cloudflared that runs tunnel ${change.before!.name} (\`proxflare status\` and the Cloudflare dashboard list its connectors), then re-run destroy; DNS and the connector service are already removed`,
      );
    }
    ctx.reporter.step(change.address, 'the tunnel still has connections (1022): cleaning them up, then retrying');
    await ctx.ports.cloudflare.deleteTunnelConnections(change.accountId, id);
    // The edge needs a moment to forget connections it just dropped.
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
  ctx.reporter.done(change.address, 'deleted (its credentials are now invalid)');
}

async function removeFiles(changes: FileChange[], ctx: DestroyContext): Promise<void> {
  const paths = changes.map((c) => c.path);
  ctx.reporter.step('connector', `removing ${paths.join(', ')}`);
  await requireHost(ctx).removeFiles(paths, { reloadUnits: paths.includes(MANAGED_PATHS.unitFile) });
  ctx.reporter.done('connector', 'files removed');
}

async function destroyLxc(change: LxcChange, ctx: DestroyContext): Promise<void> {
  const ref = change.ref!;
  // PVE refuses to destroy a running container without force (README-pve §4.12): stop it first.
  ctx.reporter.step(change.address, `stopping CT ${ref.vmid}`);
  await ctx.ports.proxmox.stopLxc(ref);
  ctx.reporter.step(change.address, `destroying CT ${ref.vmid} (purge)`);
  await ctx.ports.proxmox.destroyLxc(ref);
  ctx.reporter.done(change.address, `CT ${ref.vmid} destroyed`);
}

function requireHost(ctx: DestroyContext): ConnectorHost {
  if (!ctx.host) throw new ProxflareError('the connector host is not connected');
  return ctx.host;
}
