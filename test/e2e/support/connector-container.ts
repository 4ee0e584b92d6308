/**
 * The connector container the e2e tests boot by hand (without the Proxmox simulator in front),
 * and how they read its cloudflared unit.
 */
import type { SimLxcCreate } from '../../../src/sim/proxmox/lxc-backend.js';
import type { SshSession } from './ssh.js';

/** What proxflare's create asks Proxmox for (connector defaults), with the test's key. */
export function connectorContainer(vmid: number, sshPublicKeys: string): SimLxcCreate {
  return {
    node: 'pve',
    vmid,
    hostname: 'cloudflared',
    sshPublicKeys,
    net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
    memory: 512,
    cores: 1,
  };
}

/** `systemctl show -p …` of cloudflared.service, as a property → value record. */
export async function showCloudflared(ssh: SshSession, ...properties: string[]): Promise<Record<string, string>> {
  const out = await ssh.check(`systemctl show -p ${properties.join(',')} cloudflared`);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}
