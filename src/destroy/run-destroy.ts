import type { ApplyReportEntry } from '../core/errors.js';
import { PlanError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { applyPlan } from '../apply/apply-plan.js';
import type { DestroyOptions, DestroyPlan } from '../plan/plan-destroy.js';
import { planDestroy } from '../plan/plan-destroy.js';
import { hasChanges } from '../plan/types.js';
import type { Ports } from '../sync/ports.js';
import type { ReadResult } from '../sync/read-actual.js';
import { closeRead, readActual } from '../sync/read-actual.js';

export interface PlannedDestroy {
  plan: DestroyPlan;
  read: ReadResult;
}

/**
 * read → plan, with sync's readers (the guests left out: destroy does not care where the
 * origins are). Only readers are used; nothing is changed.
 */
export async function planDestroyRun(
  inventory: Inventory,
  ports: Ports,
  options: DestroyOptions,
  reporter: Reporter,
): Promise<PlannedDestroy> {
  const read = await readActual({ ...inventory, guests: [] }, ports, reporter);
  let connectors;
  try {
    connectors = read.actual.tunnel ? await ports.cloudflare.listConnectors(inventory.cloudflare.accountId, read.actual.tunnel.id) : [];
  } catch (err) {
    await closeRead(read);
    throw err;
  }
  const plan = planDestroy(inventory, { ...read.actual, connectors }, options);
  if (plan.errors.length > 0) {
    await closeRead(read);
    throw new PlanError(plan.errors);
  }
  return { plan, read };
}

export interface AppliedDestroy {
  applied: ApplyReportEntry[];
  /** The destroy plan computed after apply: empty when nothing of ours is left. */
  after: DestroyPlan;
}

/**
 * Apply the plan that was shown with sync's apply (APPLY_ORDER's delete rows and the executors
 * of each kind), then re-read and re-plan to prove nothing of ours is left.
 */
export async function applyDestroyRun(
  inventory: Inventory,
  ports: Ports,
  planned: PlannedDestroy,
  options: DestroyOptions,
  reporter: Reporter,
): Promise<AppliedDestroy> {
  // Every replica's connection opened while reading is used (and closed) here.
  const hosts = planned.read.hosts;
  try {
    const result = await applyPlan(planned.plan, { inventory, ports, reporter, host: planned.read.host, hosts, command: 'destroy' });
    for (const h of new Set([...result.hosts.values(), ...hosts.values()])) await h.close().catch(() => undefined);
    hosts.clear();
    reporter.step('destroy', 're-reading to check that nothing is left');
    const again = await planDestroyRun(inventory, ports, { ...options, allowMassDelete: true }, reporter);
    await closeRead(again.read);
    reporter.done('destroy');
    if (hasChanges(again.plan)) reporter.warn(`still there after destroy: ${again.plan.changes.map((c) => c.address).join(', ')}`);
    return { applied: result.applied, after: again.plan };
  } finally {
    await closeRead({ hosts });
  }
}
