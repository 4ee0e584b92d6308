import type { ConnectorHost } from '../ports/connector.js';
import type { LxcChange } from '../plan/types.js';
import { connectTarget } from '../sync/read-actual.js';
import type { ApplyContext } from './apply-plan.js';

/**
 * PVE applies a new net0 to a running container at once (pve-container src/PVE/LXC.pm update_net),
 * so the connector may now answer on another address and the SSH session opened while reading is
 * tied to the old one. After such an update: re-read the address and reconnect to it. With a fixed
 * connector.ssh.host the session is kept.
 */
export async function followLiveNetworkChange(change: LxcChange, ctx: ApplyContext, host: ConnectorHost | undefined): Promise<ConnectorHost | undefined> {
  if (!change.appliedLive?.includes('net0') || !change.ref || change.start) return host;
  const { reporter, inventory, ports } = ctx;
  reporter.step(change.address, 'net0 applied live; re-reading the address');
  const ip = await ports.proxmox.waitForIp(change.ref, ctx.ipTimeoutMs ?? 120_000);
  if (inventory.connector.ssh.host || !host) {
    reporter.done(change.address, `running at ${ip}`);
    return host;
  }
  await host.close().catch(() => undefined);
  const next = await ports.connect(connectTarget(inventory, ip));
  reporter.done(change.address, `running at ${ip}; SSH reconnected`);
  return next;
}
