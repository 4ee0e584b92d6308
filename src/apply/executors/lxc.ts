import { readFile } from 'node:fs/promises';
import type { LxcChange } from '../../plan/types.js';
import type { LxcRef } from '../../ports/proxmox.js';
import type { ExecutorContext } from '../executor-context.js';
import { recheckBeforeCreate, settleAfterCreate } from '../create-race.js';
import { followLiveNetworkChange } from '../lxc-live-network.js';
import { oneByOne } from './executor.js';

/** The connector container: download the template, create or patch it, start it, learn its address. */
export const lxcExecutor = oneByOne<LxcChange>(async (change: LxcChange, ctx: ExecutorContext) => {
  const { ports, reporter } = ctx;
  let ref: LxcRef | undefined = change.ref;
  if (change.action === 'delete') return destroyContainer(change, ctx);
  if (change.action === 'create') {
    if (change.downloadTemplate) {
      reporter.step(change.address, `downloading template ${change.spec.template}`);
      await ports.proxmox.ensureTemplate(change.spec);
    }
    reporter.step(change.address, 'creating container');
    const sshPublicKey = await readFile(change.spec.ssh.publicKey, 'utf8');
    await recheckBeforeCreate(change, ctx);
    ref = await ports.proxmox.createLxc({ connector: change.spec, sshPublicKey });
    await settleAfterCreate(change, ctx, ref);
  } else if (change.patch && ref && change.digest) {
    reporter.step(change.address, 'updating container config');
    await ports.proxmox.updateLxc(ref, change.patch, change.digest);
    await followLiveNetworkChange(change, ctx);
  }
  if (!ref) {
    reporter.done(change.address);
    return;
  }
  if (change.action === 'create' || change.start) {
    reporter.step(change.address, 'starting container');
    await ports.proxmox.startLxc(ref);
    reporter.step(change.address, 'waiting for an IPv4 address');
    const ip = await ports.proxmox.waitForIp(ref, ctx.timeouts.ipTimeoutMs);
    reporter.done(change.address, `running at ${ip}`);
    // A fresh or restarted container is reached at its (possibly new) address.
    await ctx.containerStarted(change.connector, ip);
    return;
  }
  reporter.done(change.address);
});

/** destroy: PVE refuses to destroy a running container without force (README-pve §4.12), so stop it first. */
async function destroyContainer(change: LxcChange, ctx: ExecutorContext): Promise<void> {
  const ref = change.ref!;
  await ctx.containerRemoved(change.connector);
  ctx.reporter.step(change.address, `stopping CT ${ref.vmid}`);
  await ctx.ports.proxmox.stopLxc(ref);
  ctx.reporter.step(change.address, `destroying CT ${ref.vmid} (purge)`);
  await ctx.ports.proxmox.destroyLxc(ref);
  ctx.reporter.done(change.address, `CT ${ref.vmid} destroyed`);
}
