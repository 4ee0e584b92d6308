import { exposureLine } from './plan-exposure.js';
import type { Plan } from './types.js';
import { TUNNEL_ID_PLACEHOLDER, summarize } from './types.js';

export const PLAN_FORMAT_VERSION = 1;

/**
 * The plan as JSON for other tools: every change with before/after, including the full
 * desired text of every managed file. Credentials carry only the tunnel id; Secret values
 * serialise as "(sensitive)", so nothing secret can slip through.
 */
export function renderPlanJson(plan: Plan): unknown {
  return {
    format_version: PLAN_FORMAT_VERSION,
    summary: summarize(plan),
    /** Stands in file contents and DNS targets for the id of a tunnel this plan creates. */
    tunnel_id_placeholder: TUNNEL_ID_PLACEHOLDER,
    changes: plan.changes.map((c) => {
      switch (c.kind) {
        case 'lxc':
          return pick(c, [
            'address',
            'kind',
            'action',
            'reason',
            'before',
            'after',
            'patch',
            'downloadTemplate',
            'start',
            'needsRestart',
            'appliedLive',
          ]);
        case 'credentials':
          return { ...pick(c, ['address', 'kind', 'action', 'reason', 'path', 'source', 'before', 'after']), sensitive: true };
        case 'package':
          return pick(c, ['address', 'kind', 'action', 'reason', 'before', 'after']);
        case 'file':
          return pick(c, ['address', 'kind', 'action', 'reason', 'path', 'mode', 'before', 'after']);
        case 'dns':
          return pick(c, ['address', 'kind', 'action', 'reason', 'zoneName', 'before', 'after']);
        case 'service-token':
          return { ...pick(c, ['address', 'kind', 'action', 'reason', 'before', 'after', 'secretFile']), sensitive: true };
        default:
          return pick(c, ['address', 'kind', 'action', 'reason', 'before', 'after']);
      }
    }),
    conflicts: plan.conflicts,
    warnings: plan.warnings,
    routes: plan.origins,
    ...(plan.unresolved ? { unresolved: plan.unresolved } : {}),
    exposure: (plan.exposure ?? []).map((e) => ({
      hostname: e.hostname,
      before: e.before ?? null,
      after: e.after ?? null,
      change: exposureLine(e).change ?? null,
    })),
    access_read: plan.accessRead ?? false,
  };
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
