import type { Cloudflare } from '../ports/cloudflare.js';
import type { ConnectConnector } from '../ports/connector.js';
import type { Proxmox } from '../ports/proxmox.js';

/** The three outside systems, as one bundle the CLI builds (real adapters) and tests replace (fakes, simulators). */
export interface Ports {
  proxmox: Proxmox;
  cloudflare: Cloudflare;
  connect: ConnectConnector;
  close(): Promise<void>;
}
