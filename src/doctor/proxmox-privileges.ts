import type { Inventory } from '../inventory/types.js';

/** A privilege and the ACL path it is checked on (docs/proxmox.md "What proxflare calls"). */
export interface NeededPrivilege {
  privilege: string;
  path: string;
  /** Why it is needed, for the message. */
  for: string;
  /** Missing it degrades a feature instead of breaking sync. */
  optional?: boolean;
}

/**
 * What the inventory needs from the token on this Proxmox release. PVE 9 renamed the guest-agent
 * privilege (libpve-access-control 9.0.2 dropped VM.Monitor and added VM.GuestAgent.*, see
 * docs/proxmox.md), so the release picks the name. Pure.
 */
export function neededPrivileges(inventory: Inventory, release: string): NeededPrivilege[] {
  const major = Number.parseInt(release, 10);
  const agent = Number.isFinite(major) && major < 9 ? 'VM.Monitor' : 'VM.GuestAgent.Audit';
  const out: NeededPrivilege[] = [];
  const add = (privilege: string, path: string, why: string, optional = false) => {
    if (!out.some((p) => p.privilege === privilege && p.path === path))
      out.push({ privilege, path, for: why, ...(optional ? { optional } : {}) });
  };
  for (const p of [
    'VM.Audit',
    'VM.Allocate',
    'VM.Config.CPU',
    'VM.Config.Memory',
    'VM.Config.Disk',
    'VM.Config.Network',
    'VM.Config.Options',
    'VM.PowerMgmt',
  ])
    add(p, '/vms', p === 'VM.Audit' ? 'listing guests and the connector' : 'creating and updating the connector LXC');
  for (const c of inventory.connectors) {
    add('Datastore.AllocateSpace', `/storage/${c.storage}`, `the connector's root disk on ${c.storage}`);
    const templateStorage = /^([^:]+):vztmpl\//.exec(c.template)?.[1] ?? 'local';
    add('Datastore.Audit', `/storage/${templateStorage}`, 'finding the LXC template');
    add('Datastore.AllocateTemplate', `/storage/${templateStorage}`, 'downloading the LXC template');
    add('SDN.Use', `/sdn/zones/localnetwork/${c.network.bridge}`, `the connector's network on ${c.network.bridge}`);
  }
  if (inventory.guests.some((g) => g.type === 'vm' && !g.ip)) add(agent, '/vms', 'VM addresses from the QEMU guest agent');
  add('Sys.Audit', '/', "every node's own address (refused as an origin)", true);
  return out;
}

/** ACLs propagate down the tree: `/` covers everything, `/storage` covers `/storage/local`. */
export function hasPrivilege(privileges: Record<string, string[]>, privilege: string, path: string): boolean {
  return Object.entries(privileges).some(
    ([acl, privs]) => (acl === '/' || path === acl || path.startsWith(`${acl}/`)) && privs.includes(privilege),
  );
}
