import type { AccessState } from '../ports/access.js';
import type { TunnelState, ZoneRecords } from '../ports/cloudflare.js';
import type { ConnectorState } from '../ports/connector.js';
import type { ProxmoxState } from '../ports/proxmox.js';

/**
 * Everything read from the outside world for one plan. Produced by `readActual`
 * with readers only, consumed by the pure planning functions.
 */
export interface ActualState {
  proxmox: ProxmoxState;
  tunnel: TunnelState | undefined;
  zones: ZoneRecords[];
  /**
   * The connector host as read over SSH; undefined when it could not be read yet
   * (the LXC does not exist or is stopped): its files are then "known after apply".
   */
  host: ConnectorState | undefined;
  /** Cloudflare Access; read only when the inventory has an `access:` section. */
  access?: AccessState;
}

/** Paths proxflare owns on the connector. Nothing else there is ever written. */
export const MANAGED_PATHS = {
  config: '/etc/cloudflared/config.yml',
  credentials: '/etc/cloudflared/credentials.json',
  unitFile: '/etc/systemd/system/cloudflared.service',
  binary: '/usr/bin/cloudflared',
  unit: 'cloudflared.service',
} as const;
