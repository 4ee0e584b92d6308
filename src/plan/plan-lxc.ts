import type { ConnectorSpec } from '../inventory/types.js';
import type { ConnectorLxcState, LxcConfigPatch, ProxmoxState } from '../ports/proxmox.js';
import {
  describeBusy,
  formatNet0,
  mergeNet0,
  net0Differences,
  normalizeTags,
  parsePropertyString,
  parseRootfs,
  printPropertyString,
} from '../core/pve-config.js';
import { lxcAddress } from './addresses.js';
import { lxcConflict, lxcOwnershipTags } from './ownership.js';
import { type Conflict, type LxcChange, type LxcView, UNKNOWN, type Upsert } from './types.js';

export interface LxcPlan {
  change: Upsert<LxcChange>;
  conflicts: Conflict[];
  /** Changes that would need a new container: shown and refused, never done implicitly. */
  errors: string[];
}

/** `debian-12 → local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst`, or the pinned volid. */
function templateText(spec: ConnectorSpec, state: ProxmoxState | undefined): string {
  const t = state?.template;
  return t && t.requested !== t.volid ? `${t.requested} → ${t.volid}` : (t?.volid ?? spec.template);
}

export function desiredLxcView(spec: ConnectorSpec, state?: ProxmoxState): LxcView {
  return {
    node: spec.node,
    vmid: spec.vmid ?? UNKNOWN,
    hostname: spec.hostname,
    template: templateText(spec, state),
    storage: spec.storage,
    disk: spec.disk,
    memory: spec.memory,
    swap: spec.swap,
    cores: spec.cores,
    onboot: spec.onboot,
    net0: formatNet0(spec.network),
    tags: normalizeTags(lxcOwnershipTags(spec)),
  };
}

function currentView(spec: ConnectorSpec, c: ConnectorLxcState, state: ProxmoxState): LxcView {
  const rootfs = parseRootfs(c.config.rootfs);
  return {
    node: c.node,
    vmid: c.vmid,
    hostname: c.config.hostname,
    // The config does not record which template a container came from.
    template: templateText(spec, state),
    storage: rootfs.storage,
    disk: rootfs.sizeGiB ?? spec.disk,
    memory: c.config.memory,
    swap: c.config.swap,
    cores: c.config.cores,
    onboot: c.config.onboot,
    // Key order as PVE prints it; the desired side is net0 as it will be written (MAC and type kept),
    // so PVE's own hwaddr= and type=veth never show as a change.
    net0: printPropertyString(parsePropertyString(c.config.net0)),
    tags: normalizeTags(c.config.tags),
  };
}

/**
 * Connector spec + what Proxmox has → one LXC change. Pure. In-place changes (memory, swap,
 * cores, onboot, net0) become an `update` carrying the digest read at plan time; anything
 * that would need a new container is an error, never an implicit replace.
 */
export function planLxc(spec: ConnectorSpec, state: ProxmoxState, adopt = false): LxcPlan {
  const address = lxcAddress(spec.hostname);
  const adopting = adopt && state.connector === undefined ? state.adoptable : undefined;
  const conflicts: Conflict[] = state.foreignConnectors.filter((ref) => ref.vmid !== adopting?.vmid).map((ref) => lxcConflict(spec, ref));
  const errors: string[] = [];
  const after = desiredLxcView(spec, state);
  const c = state.connector ?? adopting;
  // The create uses the template as resolved on the node (a symbolic `debian-12` is no volid).
  const createSpec = state.template ? { ...spec, template: state.template.volid } : spec;

  if (!c) {
    return {
      change: {
        kind: 'lxc',
        address,
        connector: spec.hostname,
        action: 'create',
        reason: state.templatePresent
          ? 'not found on Proxmox'
          : `not found on Proxmox; template ${createSpec.template} will be downloaded first`,
        before: undefined,
        after,
        spec: createSpec,
        downloadTemplate: !state.templatePresent,
        start: true,
        needsRestart: [],
      },
      conflicts,
      errors,
    };
  }

  const before = currentView(spec, c, state);
  const ref = { node: c.node, vmid: c.vmid };
  const ct = `${address} (CT ${c.vmid})`;
  if (c.lock !== undefined || c.busyTask !== undefined) {
    // The reader waited for it already; still busy, nothing may be planned on it (README-pve §4.14).
    const busy = describeBusy(c.lock, c.busyTask);
    const hint = c.busyTask
      ? `re-run when task ${c.busyTask} ends`
      : `re-run when the operation holding the lock ends (a leftover lock is cleared on node ${c.node} with \`pct unlock ${c.vmid}\`)`;
    return {
      change: {
        kind: 'lxc',
        address,
        connector: spec.hostname,
        action: 'noop',
        reason: busy,
        before,
        after: { ...after, vmid: c.vmid, node: c.node },
        spec,
        ref,
        downloadTemplate: false,
        start: false,
        needsRestart: [],
      },
      conflicts,
      errors: [`${ct}: ${busy}, still after waiting; ${hint}`],
    };
  }
  if (spec.vmid !== undefined && spec.vmid !== c.vmid)
    errors.push(
      `${ct}: the inventory pins vmid ${spec.vmid}, but the connector is CT ${c.vmid}; changing the vmid needs a new container and is refused (set connector.vmid: ${c.vmid})`,
    );
  if (spec.node !== c.node)
    errors.push(
      `${ct}: the connector runs on node ${c.node}, the inventory says ${spec.node}; moving it needs a migration and is refused (set connector.node: ${c.node}, or migrate it yourself)`,
    );
  if (before.storage !== spec.storage)
    errors.push(
      `${ct}: root disk is on storage ${before.storage}, the inventory says ${spec.storage}; that would need a new container and is refused (set connector.storage: ${before.storage}, or move the volume yourself: pct move-volume ${c.vmid} rootfs ${spec.storage})`,
    );
  if (!c.config.unprivileged)
    errors.push(
      `${ct}: is a privileged container, proxflare only manages unprivileged ones; that would need a new container and is refused (recreate it, or remove the tag "${spec.tag}")`,
    );
  const currentDisk = parseRootfs(c.config.rootfs).sizeGiB;
  if (currentDisk !== undefined && spec.disk < currentDisk)
    errors.push(
      `${ct}: root disk is ${currentDisk}G, the inventory asks ${spec.disk}G; shrinking a disk needs a new container and is refused (set connector.disk: ${currentDisk})`,
    );
  else if (currentDisk !== undefined && spec.disk > currentDisk)
    errors.push(
      `${ct}: root disk is ${currentDisk}G, the inventory asks ${spec.disk}G; proxflare does not resize disks (run pct resize ${c.vmid} rootfs ${spec.disk}G, then re-run)`,
    );

  const patch: LxcConfigPatch = {};
  const reasons: string[] = [];
  const needsRestart: string[] = [];
  const appliedLive: string[] = [];
  const tags = adopting ? normalizeTags([...c.config.tags, spec.tag]) : after.tags;
  if (adopting) {
    patch.tags = tags.join(';');
    reasons.push(`adopt: tag "${spec.tag}" added to CT ${c.vmid} (--adopt)`);
  }
  if (c.config.memory !== spec.memory) {
    patch.memory = spec.memory;
    reasons.push(`memory ${c.config.memory} → ${spec.memory}`);
  }
  if (c.config.swap !== spec.swap) {
    patch.swap = spec.swap;
    reasons.push(`swap ${c.config.swap} → ${spec.swap}`);
  }
  if (c.config.cores !== spec.cores) {
    patch.cores = spec.cores;
    reasons.push(`cores ${c.config.cores} → ${spec.cores}`);
  }
  if (c.config.onboot !== spec.onboot) {
    patch.onboot = spec.onboot;
    reasons.push(`onboot ${c.config.onboot ? 1 : 0} → ${spec.onboot ? 1 : 0}`);
  }
  const netDiffs = net0Differences(spec.network, c.config.net0);
  if (netDiffs.length > 0) {
    patch.net0 = mergeNet0(spec.network, c.config.net0);
    reasons.push(...netDiffs);
    // PVE hot-applies network changes to a running CT (pve-container src/PVE/LXC.pm update_net): the
    // address changes at once, so apply re-reads it and reconnects SSH.
    if (c.status === 'running') appliedLive.push('net0');
  }
  const start = c.status !== 'running';
  if (start) reasons.push(`${c.status} → running`);
  const changed = Object.keys(patch).length > 0;

  const change: Upsert<LxcChange> = {
    kind: 'lxc',
    address,
    connector: spec.hostname,
    action: changed || start ? 'update' : 'noop',
    reason: reasons.length > 0 ? reasons.join(', ') : 'matches the inventory',
    before,
    // net0 as it will be written: our keys over what exists (MAC, type, firewall stay).
    after: { ...after, vmid: c.vmid, node: c.node, net0: mergeNet0(spec.network, c.config.net0), tags },
    spec,
    ref,
    downloadTemplate: false,
    start,
    needsRestart,
  };
  if (appliedLive.length > 0) change.appliedLive = appliedLive;
  if (changed) {
    change.patch = patch;
    change.digest = c.config.digest;
  }
  return { change, conflicts, errors };
}
