/**
 * The Proxmox path with a real container behind it: proxflare's Proxmox adapter creates and
 * starts the connector LXC through the simulator's API, the simulator's real LXC backend boots a
 * Debian container with systemd, /interfaces reports its real address, and SSH with the key
 * proxflare injected (ssh-public-keys) reaches it. This is what `proxflare sync` runs in e2e mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxmox } from '../../src/proxmox/create-proxmox.js';
import { createE2eEnvironment, type E2eEnvironment } from '../../src/sim/lxc/environment.js';
import { createRealLxcBackend, type RealLxcBackend } from '../../src/sim/lxc/lxc-backend.js';
import { startProxmoxSim, type ProxmoxSim } from '../../src/sim/proxmox/start-proxmox-sim.js';
import { baseSeed, connectorSpec, settingsFor } from '../integration/proxmox/helpers.js';
import { containerGate } from './support/prerequisites.js';
import { connectSsh, generateKeyPair } from './support/ssh.js';

const gate = await containerGate('e2e: Proxmox simulator with real containers');

describe.skipIf(gate.skip)('Proxmox simulator backed by real LXC containers', () => {
  const key = generateKeyPair();
  let environment: E2eEnvironment | undefined;
  let backend: RealLxcBackend;
  let sim: ProxmoxSim | undefined;

  beforeAll(async () => {
    environment = await createE2eEnvironment({ tag: 'pve', subnet: '10.231.5' });
    backend = createRealLxcBackend({ environment });
    sim = await startProxmoxSim({ seed: baseSeed(), backend, taskDurationMs: 5 });
  }, 20 * 60_000);

  afterAll(async () => {
    await sim?.close();
    await environment?.cleanup();
  }, 120_000);

  it('create + start through the API boot a real container; its real IP is discovered and SSH works', async () => {
    const px = createProxmox(settingsFor(sim as ProxmoxSim), { taskPollMs: 100 });
    try {
      const ref = await px.createLxc({ connector: connectorSpec(), sshPublicKey: key.publicKey });
      const container = backend.container(ref.vmid);
      expect(container?.hostname).toBe('cloudflared');
      await px.startLxc(ref);
      const ip = await px.waitForIp(ref, 60_000);
      expect(ip).toBe(container?.ipv4);
      expect(ip).toMatch(/^10\.231\.5\.\d+$/);

      const ssh = await connectSsh({ host: ip, privateKey: key.privateKey, hostKeys: container?.hostKeys ?? [] });
      try {
        expect((await ssh.check('hostname')).trim()).toBe('cloudflared');
        expect((await ssh.check('systemctl is-system-running')).trim()).toBe('running');
        expect((await ssh.check('cat /root/.ssh/authorized_keys')).trim()).toBe(key.publicKey);
      } finally {
        ssh.close();
      }
    } finally {
      await px.close();
    }
  }, 180_000);

  it('a host key that is not the pinned one is refused', async () => {
    const container = backend.container(100);
    const stranger = generateKeyPair().publicKey.split(' ').slice(0, 2).join(' ');
    await expect(connectSsh({ host: container?.ipv4 as string, privateKey: key.privateKey, hostKeys: [stranger] })).rejects.toThrow(
      /ssh root@10\.231\.5\.\d+: Host denied \(verification failed\)/,
    );
  });
});
