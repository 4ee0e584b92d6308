import type { CloudflareAccess } from '../ports/access.js';
import type { Cloudflare } from '../ports/cloudflare.js';
import type { ConnectConnector } from '../ports/connector.js';
import type { Proxmox } from '../ports/proxmox.js';

/** The three outside systems, as one bundle the CLI builds (real adapters) and tests replace (fakes, simulators). */
export interface Ports {
  proxmox: Proxmox;
  cloudflare: Cloudflare;
  /** Cloudflare Access; only called when the inventory has an `access:` section. */
  access?: CloudflareAccess;
  connect: ConnectConnector;
  close(): Promise<void>;
}
