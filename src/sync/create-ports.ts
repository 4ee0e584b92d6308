import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { createCloudflareAccess } from '../cloudflare/access-adapter.js';
import { createCloudflare } from '../cloudflare/create-cloudflare.js';
import { connectConnector } from '../connector/ssh-connector.js';
import { createProxmox } from '../proxmox/create-proxmox.js';
import type { Ports } from './ports.js';

/** The real adapters for an inventory. */
export function createRealPorts(inventory: Inventory, reporter: Reporter): Ports {
  const proxmox = createProxmox(inventory.proxmox, { reporter });
  const cloudflare = createCloudflare(inventory.cloudflare, { reporter });
  return {
    proxmox,
    cloudflare,
    // Created only for an inventory that uses Access: no other run makes an Access call.
    ...(inventory.access ? { access: createCloudflareAccess(inventory.cloudflare, { reporter }) } : {}),
    connect: (target) => connectConnector(target, { reporter }),
    close: () => proxmox.close(),
  };
}
