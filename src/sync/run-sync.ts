import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { ApplyResult } from '../apply/apply-plan.js';
import { applyPlan } from '../apply/apply-plan.js';
import type { StopRequest } from '../apply/stop-request.js';
import type { PlanOptions } from '../plan/compute-plan.js';
import { computePlan } from '../plan/compute-plan.js';
import type { Plan } from '../plan/types.js';
import { hasChanges } from '../plan/types.js';
import type { Renderer } from '../render/templates.js';
import type { DesiredState } from '../plan/desired-state.js';
import { computeDesired } from '../plan/desired-state.js';
import type { Ports } from './ports.js';
import type { ReadResult } from './read-actual.js';
import { closeRead, readActual } from './read-actual.js';

export interface PlannedSync {
  plan: Plan;
  desired: DesiredState;
  read: ReadResult;
}

/** read → desired → plan. Only readers are used; nothing is changed. */
export async function planSync(
  inventory: Inventory,
  ports: Ports,
  renderer: Renderer,
  options: PlanOptions,
  reporter: Reporter,
): Promise<PlannedSync> {
  const read = await readActual(inventory, ports, reporter);
  try {
    const desired = computeDesired(inventory, read.actual, renderer);
    const plan = computePlan(inventory, read.actual, desired, options);
    return { plan, desired, read };
  } catch (err) {
    await closeRead(read);
    throw err;
  }
}

export interface AppliedSync {
  result: ApplyResult;
  /** The plan computed right after apply; empty when everything converged. */
  after: Plan;
}

/** Apply the plan that was shown, then re-read and re-plan to prove convergence. */
export async function applySync(
  inventory: Inventory,
  ports: Ports,
  renderer: Renderer,
  planned: PlannedSync,
  options: PlanOptions,
  reporter: Reporter,
  stop?: StopRequest,
): Promise<AppliedSync> {
  let hosts = new Map(planned.read.hosts);
  try {
    const result = await applyPlan(planned.plan, {
      inventory,
      ports,
      reporter,
      host: planned.read.host,
      hosts,
      ...(planned.read.credentials ? { credentials: planned.read.credentials } : {}),
      ...(stop ? { stop } : {}),
    });
    hosts = result.hosts;
    await closeRead({ hosts, ...(stop ? { stop } : {}) });
    reporter.step('sync', 're-reading to check convergence');
    const again = await planSync(inventory, ports, renderer, options, reporter);
    await closeRead(again.read);
    reporter.done('sync');
    if (hasChanges(again.plan)) {
      const left = again.plan.changes.filter((c) => c.action !== 'noop').map((c) => `${c.address} (${c.reason})`);
      reporter.warn(`not converged after apply; still pending: ${left.join(', ')}`);
    }
    return { result, after: again.plan };
  } finally {
    await closeRead({ hosts });
  }
}
