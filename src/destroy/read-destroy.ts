import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { DestroyActual } from '../plan/plan-destroy.js';
import type { ConnectorHost } from '../ports/connector.js';
import { MANAGED_PATHS } from '../sync/actual-state.js';
import type { Ports } from '../sync/ports.js';
import { connectTarget } from '../sync/read-actual.js';

export interface DestroyRead {
  actual: DestroyActual;
  /** Open connection to the connector (reused by apply); undefined when it is not running. */
  host: ConnectorHost | undefined;
}

/**
 * Read what destroy needs with readers only: the connector LXC (by tag + hostname), the
 * tunnel, every zone's records and, when the connector runs, its files and unit. No guest
 * lookups: destroy does not care where the origins are. A failed read throws, as in sync.
 */
export async function readForDestroy(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<DestroyRead> {
  const [proxmox, tunnel, zones] = await Promise.all([
    ports.proxmox.readState(inventory.connector, []),
    ports.cloudflare.findTunnel(inventory.cloudflare.accountId, inventory.tunnel.name),
    Promise.all(inventory.cloudflare.zones.map((z) => ports.cloudflare.listZoneRecords(z))),
  ]);
  let host: ConnectorHost | undefined;
  let hostState: DestroyActual['host'];
  const lxc = proxmox.connector;
  if (lxc && lxc.status === 'running') {
    const address = inventory.connector.ssh.host ?? lxc.ip;
    if (address) {
      host = await ports.connect(connectTarget(inventory, address));
      try {
        hostState = await host.readState([MANAGED_PATHS.config, MANAGED_PATHS.credentials, MANAGED_PATHS.unitFile], MANAGED_PATHS.unit);
      } catch (err) {
        await host.close();
        throw err;
      }
    } else {
      reporter.warn(`lxc/${inventory.connector.hostname} runs but has no IPv4 address; its files cannot be read`);
    }
  }
  return { actual: { proxmox, tunnel, zones, host: hostState }, host };
}
