import { ProxflareError, UserError } from '../core/errors.js';
import type { LxcChange } from '../plan/types.js';
import type { LxcRef } from '../ports/proxmox.js';
import type { ExecutorContext } from './executor-context.js';

/**
 * Two machines without a shared lock can both plan "create the connector". The tag is checked
 * again right before the create (someone else's container appeared since the plan: nothing is
 * created) and right after it (both created one). Then every run keeps the same container, the
 * lowest vmid, as the plan's read does (create-proxmox.ts): the run whose container loses
 * removes it itself (it made it seconds ago and never started it) and stops; the winner goes on.
 */
export async function recheckBeforeCreate(change: LxcChange, ctx: ExecutorContext): Promise<void> {
  const existing = await ctx.ports.proxmox.listConnectors(change.spec);
  if (existing.length === 0) return;
  throw new UserError(
    `${change.address}: ${existing.map((r) => `CT ${r.vmid} on ${r.node}`).join(', ')} with the tag "${change.spec.tag}" and the hostname "${change.spec.hostname}" ` +
      'appeared after the plan was made (another proxflare run?); nothing was created: run sync again once that run has finished (it then uses that container)',
  );
}

export async function settleAfterCreate(change: LxcChange, ctx: ExecutorContext, ours: LxcRef): Promise<void> {
  const all = await ctx.ports.proxmox.listConnectors(change.spec);
  const others = all.filter((r) => r.vmid !== ours.vmid);
  if (others.length === 0) return;
  const kept = [ours, ...others].reduce((a, b) => (b.vmid < a.vmid ? b : a));
  const list = others.map((r) => `CT ${r.vmid} on ${r.node}`).join(', ');
  if (kept.vmid === ours.vmid) {
    ctx.reporter.warn(
      `${change.address}: another run created ${list} at the same time; proxflare keeps CT ${ours.vmid} (the lowest vmid). ` +
        `A proxflare run removes the container it created when it loses; otherwise remove it with \`pct stop <vmid>; pct destroy <vmid> --purge\` on its node`,
    );
    return;
  }
  ctx.reporter.step(
    change.address,
    `another run created CT ${kept.vmid} at the same time; removing CT ${ours.vmid}, which this run just created`,
  );
  try {
    await ctx.ports.proxmox.destroyLxc(ours);
  } catch (err) {
    throw new ProxflareError(
      `${change.address}: another run created CT ${kept.vmid} at the same time, which proxflare keeps (the lowest vmid); removing CT ${ours.vmid}, created by this run, failed: ${(err as Error).message}. ` +
        `Remove it on ${ours.node} with \`pct destroy ${ours.vmid} --purge\`, then run sync again`,
      { cause: err },
    );
  }
  throw new UserError(
    `${change.address}: another run created CT ${kept.vmid} on ${kept.node} at the same time; proxflare keeps it (the lowest vmid) and removed CT ${ours.vmid}, which this run had just created. ` +
      'Run sync again once the other run has finished',
  );
}
