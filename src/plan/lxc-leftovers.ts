import type { ConnectorSpec } from '../inventory/types.js';
import type { ProxmoxState } from '../ports/proxmox.js';
import { lxcAddress } from './addresses.js';

/**
 * Warnings about containers of ours the plan does not act on. Pure.
 * - Duplicates: two runs without a shared lock each created the connector. Every run keeps the
 *   same one (connector.vmid, else the lowest vmid) and never touches the others.
 * - Failed creates: a create task of this token ended without writing the config (it could not
 *   get the container's flock, README-pve §4.14), leaving a `lock: create`-only CT. The API cannot
 *   remove a locked CT and only root on the node can unlock it, so proxflare names the two
 *   commands rather than guessing: the CT holds nothing (no config was ever written).
 */
export function lxcLeftoverWarnings(spec: ConnectorSpec, state: ProxmoxState): string[] {
  const address = lxcAddress(spec.hostname);
  const warnings: string[] = [];
  const kept = state.connector;
  for (const d of state.duplicateConnectors ?? []) {
    warnings.push(
      `${address}: CT ${d.vmid} on ${d.node} also carries the tag "${spec.tag}" and the hostname "${spec.hostname}" (two runs created the connector at the same time?); ` +
        `proxflare keeps CT ${kept?.vmid ?? '?'} (${spec.vmid !== undefined ? 'connector.vmid' : 'the lowest vmid'}) and never touches CT ${d.vmid}: ` +
        `remove it on ${d.node} with \`pct stop ${d.vmid}; pct destroy ${d.vmid} --purge\``,
    );
  }
  for (const f of state.failedCreates ?? []) {
    warnings.push(
      `${address}: CT ${f.vmid} on ${f.node} is a failed create of this token (task ${f.upid} ended: ${f.status}); its config holds only \`lock: create\`, ` +
        `which the API cannot remove: on ${f.node} run \`pct unlock ${f.vmid} && pct destroy ${f.vmid} --purge\``,
    );
  }
  return warnings;
}
