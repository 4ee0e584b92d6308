import type { ConnectorSpec } from '../inventory/types.js';
import { formatNet0, normalizeTags } from '../core/pve-config.js';

/** Parameters of POST /nodes/{node}/lxc for the connector (booleans become 1/0 on the wire). */
export function lxcCreateParams(spec: ConnectorSpec, vmid: number, sshPublicKey: string): Record<string, string | number> {
  return {
    vmid,
    hostname: spec.hostname,
    ostemplate: spec.template,
    // rootfs is always explicit: the default storage `local` cannot hold container disks (README-pve §9.7).
    rootfs: `${spec.storage}:${spec.disk}`,
    memory: spec.memory,
    swap: spec.swap,
    cores: spec.cores,
    net0: formatNet0(spec.network),
    unprivileged: 1,
    features: 'nesting=1',
    onboot: spec.onboot ? 1 : 0,
    tags: normalizeTags([spec.tag]).join(';'),
    'ssh-public-keys': sshPublicKey.trim(),
  };
}
