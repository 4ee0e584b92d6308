import { describe, expect, it } from 'vitest';
import type { ConnectorSpec } from '../../../src/inventory/types.js';
import { planLxc } from '../../../src/plan/plan-lxc.js';
import { connectorSpec } from '../../integration/proxmox/helpers.js';
import { UNKNOWN } from '../../../src/plan/types.js';
import type { ConnectorLxcState, ProxmoxState } from '../../../src/ports/proxmox.js';

const spec: ConnectorSpec = connectorSpec();

function existing(config: Partial<ConnectorLxcState['config']> = {}, status = 'running'): ConnectorLxcState {
  return {
    node: 'pve',
    vmid: 105,
    status,
    ip: '192.168.1.50',
    config: {
      hostname: 'cloudflared',
      memory: 512,
      swap: 512,
      cores: 1,
      onboot: true,
      net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth',
      rootfs: 'local-lvm:vm-105-disk-0,size=4G',
      unprivileged: true,
      tags: ['proxflare'],
      digest: 'a'.repeat(40),
      ...config,
    },
  };
}

function state(connector: ConnectorLxcState | undefined, extra: Partial<ProxmoxState> = {}): ProxmoxState {
  return { connector, foreignConnectors: [], templatePresent: true, guestIps: new Map(), nodeAddresses: [], ...extra };
}

describe('planLxc', () => {
  it('absent → create with the full spec; template missing → downloadTemplate', () => {
    const p = planLxc(spec, state(undefined, { templatePresent: false }));
    expect(p.errors).toEqual([]);
    expect(p.change).toMatchObject({
      kind: 'lxc',
      address: 'lxc/cloudflared',
      action: 'create',
      before: undefined,
      downloadTemplate: true,
      start: true,
      after: {
        node: 'pve',
        vmid: UNKNOWN,
        hostname: 'cloudflared',
        template: spec.template,
        storage: 'local-lvm',
        disk: 4,
        memory: 512,
        swap: 512,
        cores: 1,
        onboot: true,
        net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
        tags: ['proxflare'],
      },
    });
    expect(planLxc({ ...spec, vmid: 900 }, state(undefined)).change.after.vmid).toBe(900);
    expect(planLxc(spec, state(undefined)).change.downloadTemplate).toBe(false);
  });

  it('static network with VLAN renders gw and tag into net0', () => {
    const p = planLxc({ ...spec, network: { bridge: 'vmbr1', ip: '192.168.20.5/24', gw: '192.168.20.1', vlan: 20 } }, state(undefined));
    expect(p.change.after.net0).toBe('name=eth0,bridge=vmbr1,gw=192.168.20.1,ip=192.168.20.5/24,tag=20');
  });

  it('matching container → noop', () => {
    const p = planLxc(spec, state(existing()));
    expect(p.change.action).toBe('noop');
    expect(p.change.patch).toBeUndefined();
    expect(p.errors).toEqual([]);
  });

  const drift: [string, Partial<ConnectorLxcState['config']>, object, string[]][] = [
    ['memory', { memory: 256 }, { memory: 512 }, []],
    ['swap', { swap: 0 }, { swap: 512 }, []],
    ['cores', { cores: 2 }, { cores: 1 }, []],
    ['onboot', { onboot: false }, { onboot: true }, []],
    [
      'bridge',
      { net0: 'name=eth0,bridge=vmbr1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth' },
      { net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth' },
      ['net0'],
    ],
    [
      'vlan tag',
      { net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,tag=30,type=veth' },
      { net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth' },
      ['net0'],
    ],
  ];
  it.each(drift)('%s drift → in-place update with the digest', (_, config, patch, live) => {
    const p = planLxc(spec, state(existing(config)));
    expect(p.errors).toEqual([]);
    expect(p.change.action).toBe('update');
    expect(p.change.patch).toEqual(patch);
    expect(p.change.digest).toBe('a'.repeat(40));
    expect(p.change.ref).toEqual({ node: 'pve', vmid: 105 });
    // PVE hot-applies net0 to a running CT (pve-container src/PVE/LXC.pm update_net): nothing waits for a restart.
    expect(p.change.needsRestart).toEqual([]);
    expect(p.change.appliedLive ?? []).toEqual(live);
    expect(p.change.start).toBe(false);
  });

  it('the reason says what changes', () => {
    expect(planLxc({ ...spec, memory: 1024 }, state(existing())).change.reason).toBe('memory 512 → 1024');
  });

  it('unmanaged net0 keys (firewall, mtu) do not count as drift and survive an update', () => {
    const net0 = 'name=eth0,bridge=vmbr1,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,mtu=1400,type=veth';
    const p = planLxc(spec, state(existing({ net0 })));
    expect(p.change.patch).toEqual({ net0: 'name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,mtu=1400,type=veth' });
    expect(planLxc(spec, state(existing({ net0: net0.replace('vmbr1', 'vmbr0') }))).change.action).toBe('noop');
  });

  it('stopped → update with start, no patch', () => {
    const p = planLxc(spec, state(existing({}, 'stopped')));
    expect(p.change).toMatchObject({ action: 'update', start: true, reason: 'stopped → running' });
    expect(p.change.patch).toBeUndefined();
    expect(p.change.digest).toBeUndefined();
  });

  const refused: [string, ConnectorSpec, Partial<ConnectorLxcState['config']>, RegExp][] = [
    [
      'storage',
      { ...spec, storage: 'local-zfs' },
      {},
      /storage local-lvm, the inventory says local-zfs; that would need a new container and is refused/,
    ],
    ['privileged', spec, { unprivileged: false }, /privileged container.*refused/],
    ['disk shrink', { ...spec, disk: 2 }, {}, /shrinking a disk needs a new container and is refused/],
    ['disk grow', { ...spec, disk: 8 }, {}, /pct resize 105 rootfs 8G/],
    ['vmid', { ...spec, vmid: 200 }, {}, /pins vmid 200, but the connector is CT 105/],
    ['node', { ...spec, node: 'pve2' }, {}, /runs on node pve, the inventory says pve2/],
  ];
  it.each(refused)('%s change is an error, never an implicit replace', (_, s, config, message) => {
    const p = planLxc(s, state(existing(config)));
    expect(p.errors).toEqual([expect.stringMatching(message)]);
    expect(p.change.action).not.toBe('replace');
    expect(p.change.action).not.toBe('create');
  });

  it('a same-named LXC without our tag is a conflict naming it', () => {
    const p = planLxc(spec, state(undefined, { foreignConnectors: [{ node: 'pve', vmid: 120 }] }));
    expect(p.conflicts).toEqual([
      {
        address: 'lxc/cloudflared',
        message: expect.stringMatching(/vmid 120 on node pve.*without the ownership tag "proxflare"/),
        hint: expect.stringMatching(/pct set 120 --tags proxflare/),
      },
    ]);
  });
});
