import { InternalError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { ConnectorHost, ConnectTarget } from '../ports/connector.js';
import type { ActualState } from './actual-state.js';
import { MANAGED_PATHS } from './actual-state.js';
import type { Ports } from './ports.js';

export interface ReadResult {
  actual: ActualState;
  /** The open SSH connection to the connector, reused by apply; undefined if not reachable yet. */
  host: ConnectorHost | undefined;
}

/**
 * Read Proxmox and Cloudflare in parallel, then the connector over SSH when it runs.
 * Any failed or partial read throws: missing data is never taken as "nothing there".
 */
export async function readActual(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<ReadResult> {
  reporter.debug('reading Proxmox and Cloudflare');
  const [proxmox, tunnel, zones, access] = await Promise.all([
    ports.proxmox.readState(inventory.connector, inventory.guests),
    ports.cloudflare.findTunnel(inventory.cloudflare.accountId, inventory.tunnel.name),
    Promise.all(inventory.cloudflare.zones.map((z) => ports.cloudflare.listZoneRecords(z))),
    readAccess(inventory, ports),
  ]);

  let host: ConnectorHost | undefined;
  let hostState: ActualState['host'];
  const lxc = proxmox.connector;
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
  return { actual: { proxmox, tunnel, zones, host: hostState, ...(access ? { access } : {}) }, host };
}

/** Access is read only when the inventory uses it, so a token without Access permissions keeps working. */
async function readAccess(inventory: Inventory, ports: Ports): Promise<ActualState['access']> {
  if (!inventory.access) return undefined;
  if (!ports.access) throw new InternalError('the inventory uses Cloudflare Access but no Access adapter was created');
  return ports.access.readAccess(inventory.cloudflare.accountId);
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
