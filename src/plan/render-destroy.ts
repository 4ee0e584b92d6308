import type { DestroyPlan } from './plan-destroy.js';
import type { RenderOptions } from './render-plan.js';
import { renderPlan } from './render-plan.js';
import { renderPlanJson } from './render-plan-json.js';
import { hasChanges } from './types.js';

/** The destroy plan for people: the deletes as in `sync`, then what is kept and why. Pure. */
export function renderDestroyPlan(plan: DestroyPlan, tunnelName: string, options: RenderOptions): string {
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out: string[] = [];
  if (hasChanges(plan)) out.push(renderPlan(plan, options).replace(/\n$/, ''));
  else {
    for (const w of plan.warnings) out.push(paint(33, `Warning: ${w}`));
    out.push(paint(32, `Nothing to destroy: nothing carries proxflare's marks for tunnel ${tunnelName}.`));
  }
  if (plan.kept.length > 0) {
    out.push('', "Kept (not proxflare's, or kept on request):");
    for (const k of plan.kept) out.push(`  = ${k.address}: ${k.reason}`);
  }
  return `${out.join('\n')}\n`;
}

export function renderDestroyJson(plan: DestroyPlan): unknown {
  return { ...(renderPlanJson(plan) as Record<string, unknown>), kept: plan.kept };
}
