import type { AccessState } from '../ports/access.js';
import type { RemoteTunnelConfig, TunnelState, ZoneRecords } from '../ports/cloudflare.js';
import type { ConnectorState } from '../ports/connector.js';
import type { ProxmoxState } from '../ports/proxmox.js';

/**
 * Everything read from the outside world for one plan, in slices: each slice is read by one
 * reader (src/sync/read-actual.ts, readers only) and planned by its own module. A new kind
 * (Access applications) is a new slice here, a reader there and a plan-* module.
 */

/** The connector container, the guests' addresses and the nodes' own addresses (plan-lxc, origins). */
export interface ProxmoxSlice {
  proxmox: ProxmoxState;
}

/** The named tunnel, if it exists (plan-tunnel). */
export interface TunnelSlice {
  tunnel: TunnelState | undefined;
}

/** Complete listings of the configured zones (plan-dns). */
export interface DnsSlice {
  zones: ZoneRecords[];
}

/** Cloudflare Access (plan-access, plan-exposure); read only when the inventory has an `access:` section. */
export interface AccessSlice {
  access?: AccessState | undefined;
}

/** The slices read from remote APIs, all in parallel. */
export type RemoteSlices = ProxmoxSlice & TunnelSlice & DnsSlice & AccessSlice;

/** The connector host (plan-host), read over SSH once the Proxmox slice says where it runs. */
export interface HostSlice {
  /**
   * The connector host as read over SSH; undefined when it could not be read yet
   * (the LXC does not exist or is stopped): its files are then "known after apply".
   */
  host: ConnectorState | undefined;
}

/** One replica's container (as Proxmox reports it) and host (as read over SSH). */
export interface ReplicaActual {
  proxmox: ProxmoxState;
  host: ConnectorState | undefined;
}

/**
 * Every replica by hostname (`connector.replicas`). Absent or missing a name: that connector
 * is the one in `proxmox` + `host` (the single-connector shape).
 */
export interface ReplicasSlice {
  replicas?: Map<string, ReplicaActual>;
}

/**
 * The digest of the credentials file the existing tunnel's token gives (what the deploy would
 * write), read only when the tunnel exists and a connector runs: a hand-edited or stale
 * `TunnelSecret` shows up in the plan without the secret ever leaving the read phase.
 */
export interface CredentialsSlice {
  expectedCredentials?: { tunnelId: string; sha256: string };
}

/** The configuration Cloudflare holds for a remotely-managed tunnel (plan-remote-config); read only for one. */
export interface RemoteConfigSlice {
  remoteConfig?: RemoteTunnelConfig | undefined;
}

export type ActualState = RemoteSlices & HostSlice & ReplicasSlice & RemoteConfigSlice & CredentialsSlice;

/** The container and host of one connector, by its hostname. */
export function replicaActual(actual: ActualState, hostname: string): ReplicaActual {
  return actual.replicas?.get(hostname) ?? { proxmox: actual.proxmox, host: actual.host };
}

/** Paths proxflare owns on the connector. Nothing else there is ever written. */
export const MANAGED_PATHS = {
  config: '/etc/cloudflared/config.yml',
  credentials: '/etc/cloudflared/credentials.json',
  unitFile: '/etc/systemd/system/cloudflared.service',
  binary: '/usr/bin/cloudflared',
  unit: 'cloudflared.service',
} as const;
