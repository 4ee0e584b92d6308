import { PlanError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { Renderer } from '../render/templates.js';
import type { ActualState } from '../plan/actual-state.js';
import { computeDesired } from '../plan/desired-state.js';
import type { Ports } from '../sync/ports.js';
import { closeRead, readActual } from '../sync/read-actual.js';
import type { ExposureGraph } from './exposure-graph.js';
import { buildExposureGraph } from './exposure-graph.js';

export interface GraphResult {
  graph: ExposureGraph;
  warnings: string[];
}

/**
 * What is known without asking anyone: the inventory's static addresses. Everything else
 * (discovered guest addresses, the tunnel id, the connector) is left for sync to find.
 */
export function inventoryOnlyActual(inventory: Inventory): ActualState {
  return {
    proxmox: {
      connector: undefined,
      foreignConnectors: [],
      templatePresent: true,
      guestIps: new Map(inventory.guests.filter((g) => g.ip).map((g) => [g.name, { ok: true, ip: g.ip!, source: 'inventory' }] as const)),
      nodeAddresses: [],
    },
    tunnel: undefined,
    zones: [],
    host: undefined,
  };
}

/** The graph from the same desired state a plan computes; problems that would stop the plan stop the graph. */
export function graphFromActual(inventory: Inventory, actual: ActualState, renderer: Renderer, offline: boolean): GraphResult {
  const desired = computeDesired(inventory, actual, renderer, { offline });
  if (desired.errors.length > 0) throw new PlanError(desired.errors);
  return { graph: buildExposureGraph(inventory, actual, desired, { offline }), warnings: [...inventory.warnings, ...desired.warnings] };
}

/** Live: read Proxmox, Cloudflare and the connector with readers only, as `sync --dry-run` does. */
export async function readExposureGraph(inventory: Inventory, ports: Ports, renderer: Renderer, reporter: Reporter): Promise<GraphResult> {
  const read = await readActual(inventory, ports, reporter);
  try {
    return graphFromActual(inventory, read.actual, renderer, false);
  } finally {
    await closeRead(read);
  }
}
