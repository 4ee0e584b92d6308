import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { createProxmox } from '../../../src/proxmox/create-proxmox.js';
import { createDispatcher } from '../../../src/proxmox/tls-dispatcher.js';
import type { SimLxcBackend, SimLxcCreate } from '../../../src/sim/proxmox/lxc-backend.js';
import { startProxmoxSim, type ProxmoxSim } from '../../../src/sim/proxmox/start-proxmox-sim.js';
import { baseSeed, connectorSpec, guest, settingsFor, SSH_KEY } from './helpers.js';

let sim: ProxmoxSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('simulator seeding and the LXC backend seam', () => {
  it('starts from a YAML homelab file (PVE 8 privilege names)', async () => {
    sim = await startProxmoxSim({ seed: fileURLToPath(new URL('../../fixtures/pve/homelab.yaml', import.meta.url)) });
    const px = createProxmox(settingsFor(sim));
    try {
      const state = await px.readState(connectorSpec(), [guest('jellyfin', 'lxc', 101), guest('nextcloud', 'vm', 200)]);
      expect(state.guestIps.get('jellyfin')).toEqual({ ok: true, ip: '192.168.1.101', source: 'interfaces' });
      expect(state.guestIps.get('nextcloud')).toEqual({ ok: true, ip: '192.168.1.200', source: 'agent' });
      // No Sys.Audit: node addresses fall back to the API host only.
      expect(state.nodeAddresses).toEqual(['127.0.0.1']);
      // PVE 8 does not know the parameters PVE 9 added.
      const dispatcher = createDispatcher({ fingerprint: sim.fingerprint, connectTimeoutMs: 5000 });
      const res = await fetch(`${sim.url}/api2/json/nodes/pve/lxc`, {
        method: 'POST',
        dispatcher,
        headers: {
          Authorization: `PVEAPIToken=${sim.tokens[0]!.id}=${sim.tokens[0]!.secret}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: 'vmid=300&ostemplate=local:vztmpl/x.tar.zst&ha-managed=1',
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Record<string, string> }).errors).toEqual({
        'ha-managed': 'property is not defined in schema and the schema does not allow additional properties',
      });
      await dispatcher.close();
    } finally {
      await px.close();
    }
  });

  it('create/start/stop/destroy go through the backend, and /interfaces reports its address', async () => {
    const calls: string[] = [];
    let created: SimLxcCreate | undefined;
    const backend: SimLxcBackend = {
      async create(r) {
        created = r;
        calls.push(`create ${r.vmid}`);
      },
      async start(vmid) {
        calls.push(`start ${vmid}`);
        return { ipv4: '10.231.0.7' };
      },
      async stop(vmid) {
        calls.push(`stop ${vmid}`);
      },
      async destroy(vmid) {
        calls.push(`destroy ${vmid}`);
      },
    };
    sim = await startProxmoxSim({ seed: baseSeed(), backend, taskDurationMs: 5 });
    const px = createProxmox(settingsFor(sim), { taskPollMs: 5 });
    try {
      const ref = await px.createLxc({ connector: connectorSpec({ memory: 768, cores: 2 }), sshPublicKey: SSH_KEY });
      expect(created).toMatchObject({ node: 'pve', vmid: 100, hostname: 'cloudflared', sshPublicKeys: SSH_KEY, memory: 768, cores: 2 });
      expect(created!.net0).toMatch(/^name=eth0,bridge=vmbr0,hwaddr=BC:24:11:[0-9A-F:]+,ip=dhcp,type=veth$/);
      await px.startLxc(ref);
      expect(await px.waitForIp(ref, 2000)).toBe('10.231.0.7');
      expect(calls).toEqual(['create 100', 'start 100']);
    } finally {
      await px.close();
    }
  });

  it('a backend failure fails the create task with its message', async () => {
    const backend: SimLxcBackend = {
      create: async () => {
        throw new Error('debootstrap failed: no network');
      },
      start: async () => ({ ipv4: undefined }),
      stop: async () => {},
      destroy: async () => {},
    };
    sim = await startProxmoxSim({ seed: baseSeed(), backend, taskDurationMs: 5 });
    const px = createProxmox(settingsFor(sim), { taskPollMs: 5 });
    try {
      await expect(px.createLxc({ connector: connectorSpec(), sshPublicKey: SSH_KEY })).rejects.toThrow(
        /unable to create CT 100 - debootstrap failed: no network/,
      );
    } finally {
      await px.close();
    }
  });
});
