import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestIp } from '../../../src/ports/proxmox.js';
import type { SimGuestSeed } from '../../../src/sim/proxmox/seed.js';
import { baseSeed, connectorSpec, guest, type Harness, startHarness } from './helpers.js';

const guests: SimGuestSeed[] = [
  // LXC with a DHCP lease, reported by /interfaces
  { type: 'lxc', vmid: 101, node: 'pve', name: 'jellyfin', status: 'running', interfaces: [{ name: 'eth0', ipv4: '192.168.1.101/24' }] },
  // LXC with two interfaces; the inventory names the second
  {
    type: 'lxc',
    vmid: 102,
    node: 'pve',
    name: 'multi',
    status: 'running',
    net1: undefined,
    interfaces: [
      { name: 'eth0', ipv4: '192.168.1.102/24' },
      { name: 'eth1', ipv4: '10.20.0.102/24' },
    ],
  } as SimGuestSeed,
  // LXC whose /interfaces has no IPv4 (yet): the static ip= in net0 is used
  {
    type: 'lxc',
    vmid: 103,
    node: 'pve',
    name: 'staticct',
    status: 'running',
    net0: 'name=eth0,bridge=vmbr0,ip=192.168.1.103/24,gw=192.168.1.1',
    interfaces: [{ name: 'eth0' }],
  },
  // stopped LXC
  { type: 'lxc', vmid: 104, node: 'pve', name: 'sleepy', status: 'stopped' },
  // VM with a running agent
  {
    type: 'qemu',
    vmid: 201,
    node: 'pve',
    name: 'nextcloud',
    status: 'running',
    agent: 'running',
    interfaces: [{ name: 'ens18', ipv4: '192.168.1.201/24' }],
  },
  // VM without agent, cloud-init ipconfig0
  {
    type: 'qemu',
    vmid: 202,
    node: 'pve',
    name: 'cloudinit',
    status: 'running',
    agent: 'none',
    ipconfig0: 'ip=192.168.1.202/24,gw=192.168.1.1',
  },
  // VM with agent configured but not running, no ipconfig0
  { type: 'qemu', vmid: 203, node: 'pve', name: 'noagent', status: 'running', agent: 'not-running' },
  // VM without agent and without ipconfig0
  { type: 'qemu', vmid: 204, node: 'pve', name: 'bare', status: 'running', agent: 'none' },
  // stopped VM
  { type: 'qemu', vmid: 205, node: 'pve', name: 'offvm', status: 'stopped', agent: 'running' },
  // guest with an inventory ip: never asked
  { type: 'lxc', vmid: 106, node: 'pve', name: 'pinned', status: 'stopped' },
];

let h: Harness;
let ips: Map<string, GuestIp>;

beforeAll(async () => {
  h = await startHarness(baseSeed(guests));
  ips = (
    await h.adapter.readState(connectorSpec(), [
      guest('jellyfin', 'lxc', 101),
      guest('multi', 'lxc', 102, { interface: 'eth1' }),
      guest('staticct', 'lxc', 103),
      guest('sleepy', 'lxc', 104),
      guest('nextcloud', 'vm', 201),
      guest('cloudinit', 'vm', 202),
      guest('noagent', 'vm', 203),
      guest('bare', 'vm', 204),
      guest('offvm', 'vm', 205),
      guest('pinned', 'lxc', 106, { ip: '192.168.1.106' }),
      guest('ghost', 'lxc', 999),
      guest('wrongtype', 'vm', 101),
    ])
  ).guestIps;
});
afterAll(async () => h.close());

describe('guest IP discovery', () => {
  it('static inventory ip wins without any API call for that guest', () => {
    expect(ips.get('pinned')).toEqual({ ok: true, ip: '192.168.1.106', source: 'inventory' });
    expect(h.sim.requests.some((r) => r.path.includes('/106/'))).toBe(false);
  });

  it('LXC: first non-loopback IPv4 from /interfaces', () => {
    expect(ips.get('jellyfin')).toEqual({ ok: true, ip: '192.168.1.101', source: 'interfaces' });
  });

  it('LXC: the interface the inventory names', () => {
    expect(ips.get('multi')).toEqual({ ok: true, ip: '10.20.0.102', source: 'interfaces' });
  });

  it('LXC: falls back to the static ip= of net0', () => {
    expect(ips.get('staticct')).toEqual({ ok: true, ip: '192.168.1.103', source: 'config' });
  });

  it('VM: guest agent network-get-interfaces', () => {
    expect(ips.get('nextcloud')).toEqual({ ok: true, ip: '192.168.1.201', source: 'agent' });
  });

  it('VM: falls back to cloud-init ipconfig0 when there is no agent', () => {
    expect(ips.get('cloudinit')).toEqual({ ok: true, ip: '192.168.1.202', source: 'config' });
  });

  it('stopped guests are a clear error naming the guest and the fix', () => {
    expect(ips.get('sleepy')).toEqual({
      ok: false,
      error: expect.stringMatching(/guest "sleepy" \(CT 104 on pve\) is stopped.*pct start 104.*ip/),
    });
    expect(ips.get('offvm')).toEqual({
      ok: false,
      error: expect.stringMatching(/guest "offvm" \(VM 205 on pve\) is stopped.*qm start 205/),
    });
  });

  it('VM without a usable agent names the agent problem and the fix', () => {
    expect(ips.get('noagent')).toEqual({
      ok: false,
      error: expect.stringMatching(/"noagent".*guest agent is not running.*qemu-guest-agent.*ipconfig0/),
    });
    expect(ips.get('bare')).toEqual({
      ok: false,
      error: expect.stringMatching(/"bare".*no QEMU guest agent is configured.*qm set 204 --agent enabled=1/),
    });
  });

  it('a guest missing from /cluster/resources or of the wrong type is an error, not skipped', () => {
    expect(ips.get('ghost')).toEqual({ ok: false, error: expect.stringMatching(/"ghost" \(vmid 999\) is not listed.*VM\.Audit/) });
    expect(ips.get('wrongtype')).toEqual({ ok: false, error: expect.stringMatching(/is a container, but the inventory says type: vm/) });
  });

  it('reports the node addresses (API host + /cluster/status)', async () => {
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(state.nodeAddresses.sort()).toEqual(['127.0.0.1', '127.0.9.1']);
  });
});

describe('guest agent privilege names (PVE 8 vs 9)', () => {
  it('PVE 8 without VM.Monitor: the error names the privilege and the version difference', async () => {
    const privs = ['VM.Audit', 'Datastore.Audit', 'VM.GuestAgent.Audit'];
    const h8 = await startHarness(
      baseSeed(
        [
          {
            type: 'qemu',
            vmid: 201,
            node: 'pve',
            name: 'nextcloud',
            status: 'running',
            agent: 'running',
            interfaces: [{ name: 'ens18', ipv4: '192.168.1.201/24' }],
          },
        ],
        {
          pveVersion: 8,
          tokens: [{ id: 'proxflare@pve!cli', secret: '0b7c6c5e-2f4a-4c1d-9e8f-1a2b3c4d5e6f', privileges: privs }],
        },
      ),
    );
    try {
      const state = await h8.adapter.readState(connectorSpec(), [guest('nextcloud', 'vm', 201)]);
      const ip = state.guestIps.get('nextcloud');
      expect(ip).toEqual({
        ok: false,
        error: expect.stringMatching(/lacks the privilege VM\.Monitor on \/vms\/201.*PVE 8 uses VM\.Monitor/),
      });
    } finally {
      await h8.close();
    }
  });
});
