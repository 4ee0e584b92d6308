import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { createCloudflareAccess } from '../cloudflare/access-adapter.js';
import { createCloudflare } from '../cloudflare/create-cloudflare.js';
import { connectConnector } from '../connector/ssh-connector.js';
import { createProxmox } from '../proxmox/create-proxmox.js';
import type { ConnectorHost } from '../ports/connector.js';
import type { Ports } from '../sync/ports.js';

export interface SandboxTarget {
  /** The sandbox host's root directory: every managed path lives under it. */
  root: string;
  /** Its stand-in binaries, first on PATH. */
  binDir: string;
  /** Where the stand-in cloudflared's metrics server listens (one per replica). */
  metrics?: string;
}

/**
 * The real adapters for a simulated homelab: the APIs at the inventory's URLs, SSH to the
 * sandbox host playing the connector LXC. Loads no simulator, so a process that only
 * runs proxflare (the benchmark's plan rows) measures proxflare alone.
 */
export function sandboxPorts(
  inventory: Inventory,
  reporter: Reporter,
  sandbox: SandboxTarget,
  onConnect?: (host: ConnectorHost) => void,
): Ports {
  const pve = createProxmox(inventory.proxmox, { reporter, taskPollMs: 50 });
  return {
    proxmox: pve,
    cloudflare: createCloudflare(inventory.cloudflare, { reporter }),
    ...(inventory.access ? { access: createCloudflareAccess(inventory.cloudflare, { reporter }) } : {}),
    connect: async (target) => {
      const c = await connectConnector({ ...target, sandbox }, { reporter });
      onConnect?.(c);
      return c;
    },
    close: () => pve.close(),
  };
}
