import type { ApplyReportEntry } from '../core/errors.js';
import { PlanError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { applyDestroy } from '../apply/apply-destroy.js';
import type { DestroyOptions, DestroyPlan } from '../plan/plan-destroy.js';
import { planDestroy } from '../plan/plan-destroy.js';
import { hasChanges } from '../plan/types.js';
import type { Ports } from '../sync/ports.js';
import type { DestroyRead } from './read-destroy.js';
import { readForDestroy } from './read-destroy.js';

export interface PlannedDestroy {
  plan: DestroyPlan;
  read: DestroyRead;
}

/** read → plan. Only readers are used; nothing is changed. */
export async function planDestroyRun(inventory: Inventory, ports: Ports, options: DestroyOptions, reporter: Reporter): Promise<PlannedDestroy> {
  const read = await readForDestroy(inventory, ports, reporter);
  const plan = planDestroy(inventory, read.actual, options);
  if (plan.errors.length > 0) {
    await read.host?.close();
    throw new PlanError(plan.errors);
  }
  return { plan, read };
}

export interface AppliedDestroy {
  applied: ApplyReportEntry[];
  /** The destroy plan computed after apply: empty when nothing of ours is left. */
  after: DestroyPlan;
}

/** Apply the plan that was shown, then re-read and re-plan to prove nothing of ours is left. */
export async function applyDestroyRun(
  inventory: Inventory,
  ports: Ports,
  planned: PlannedDestroy,
  options: DestroyOptions,
  reporter: Reporter,
): Promise<AppliedDestroy> {
  const host = planned.read.host;
  try {
    const applied = await applyDestroy(planned.plan, { inventory, ports, reporter, host });
    await host?.close();
    reporter.step('destroy', 're-reading to check that nothing is left');
    const again = await planDestroyRun(inventory, ports, { ...options, allowMassDelete: true }, reporter);
    await again.read.host?.close();
    reporter.done('destroy');
    if (hasChanges(again.plan)) {
      const left = again.plan.changes.filter((c) => c.action !== 'noop').map((c) => c.address);
      reporter.warn(`still there after destroy: ${left.join(', ')}`);
    }
    return { applied, after: again.plan };
  } finally {
    await host?.close();
  }
}
