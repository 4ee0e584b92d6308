import type { LxcChange } from '../plan/types.js';
import type { ExecutorContext } from './executor-context.js';

/**
 * PVE applies a new net0 to a running container at once (pve-container src/PVE/LXC.pm update_net),
 * so the connector may now answer on another address and the SSH session opened while reading is
 * tied to the old one. After such an update: re-read the address, and have the next use of the
 * connector connect there (with a fixed connector.ssh.host that address is used as before).
 */
export async function followLiveNetworkChange(change: LxcChange, ctx: ExecutorContext): Promise<void> {
  if (!change.appliedLive?.includes('net0') || !change.ref || change.start) return;
  ctx.reporter.step(change.address, 'net0 applied live; re-reading the address');
  const ip = await ctx.ports.proxmox.waitForIp(change.ref, ctx.timeouts.ipTimeoutMs);
  ctx.reporter.step(change.address, `running at ${ip}; SSH reconnects there`);
  await ctx.containerStarted(change.connector, ip);
}
