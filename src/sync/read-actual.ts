import { InternalError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { ConnectorHost, ConnectTarget } from '../ports/connector.js';
import type { AccessSlice, ActualState, RemoteSlices } from '../plan/actual-state.js';
import { MANAGED_PATHS } from '../plan/actual-state.js';
import type { Ports } from './ports.js';

export interface ReadResult {
  actual: ActualState;
  /** The open SSH connection to the connector, reused by apply; undefined if not reachable yet. */
  host: ConnectorHost | undefined;
}

type SliceReaders = { [K in keyof RemoteSlices]-?: (inventory: Inventory, ports: Ports) => Promise<RemoteSlices[K]> };

/** One reader per remote slice of the actual state; all run in parallel. */
const SLICE_READERS: SliceReaders = {
  proxmox: (inventory, ports) => ports.proxmox.readState(inventory.connector, inventory.guests),
  tunnel: (inventory, ports) => ports.cloudflare.findTunnel(inventory.cloudflare.accountId, inventory.tunnel.name),
  zones: (inventory, ports) => Promise.all(inventory.cloudflare.zones.map((z) => ports.cloudflare.listZoneRecords(z))),
  access: readAccess,
};

/** Access is read only when the inventory uses it, so a token without Access permissions keeps working. */
async function readAccess(inventory: Inventory, ports: Ports): Promise<AccessSlice['access']> {
  if (!inventory.access) return undefined;
  if (!ports.access) throw new InternalError('the inventory uses Cloudflare Access but no Access adapter was created');
  return ports.access.readAccess(inventory.cloudflare.accountId);
}

async function readRemoteSlices(inventory: Inventory, ports: Ports): Promise<RemoteSlices> {
  const keys = Object.keys(SLICE_READERS) as (keyof RemoteSlices)[];
  const values = await Promise.all(keys.map((k) => SLICE_READERS[k](inventory, ports)));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as RemoteSlices;
}

/**
 * Read the remote slices (Proxmox, Cloudflare) in parallel, then the connector over SSH when it
 * runs. Any failed or partial read throws: missing data is never taken as "nothing there".
 */
export async function readActual(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<ReadResult> {
  reporter.debug('reading Proxmox and Cloudflare');
  const remote = await readRemoteSlices(inventory, ports);
  const { proxmox } = remote;

  let host: ConnectorHost | undefined;
  let hostState: ActualState['host'];
  // A container --adopt=lxc may take over is read like ours (readers only; nothing is touched).
  const lxc = proxmox.connector ?? proxmox.adoptable;
  if (lxc && lxc.status === 'running') {
    const address = inventory.connector.ssh.host ?? lxc.ip;
    if (address) {
      host = await ports.connect(connectTarget(inventory, address));
      hostState = await host.readState(
        [MANAGED_PATHS.config, MANAGED_PATHS.credentials, MANAGED_PATHS.unitFile],
        MANAGED_PATHS.unit,
      );
    } else {
      reporter.warn(`lxc/${inventory.connector.hostname} runs but has no IPv4 address yet; its files are read after apply`);
    }
  }
  return { actual: { ...remote, host: hostState }, host };
}

export function connectTarget(inventory: Inventory, address: string): ConnectTarget {
  const ssh = inventory.connector.ssh;
  return {
    host: address,
    port: ssh.port,
    user: ssh.user,
    privateKey: ssh.privateKey,
    knownHosts: ssh.knownHosts,
    trustOnFirstUse: ssh.trustOnFirstUse,
    ...(ssh.jump ? { jump: ssh.jump } : {}),
  };
}
