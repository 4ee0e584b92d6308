import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ExistingConnector, ExistingReplica } from '../../../src/import/read-existing.js';
import { writeImportedInventory } from '../../../src/import/write-inventory.js';
import { loadInventory } from '../../../src/inventory/load.js';
import type { ConnectorLxcState, GuestSummary } from '../../../src/ports/proxmox.js';
import { fakeHomelab } from '../../support/fake-homelab.js';

const TUNNEL = '6f1c6b0e-1111-4a2b-9c3d-000000000001';

function connector(address: string): ExistingConnector {
  return {
    address,
    cloudflaredVersion: '2026.8.2',
    unit: { path: '/etc/systemd/system/cloudflared.service', active: true, enabled: true },
    invocation: undefined,
    configPath: '/etc/cloudflared/config.yml',
    updateTimer: false,
    tokenTunnelId: undefined,
  };
}

function lxc(node: string, vmid: number, over: { memory?: number; rootfs?: string; net0?: string } = {}): ConnectorLxcState {
  return {
    node,
    vmid,
    status: 'running',
    config: {
      hostname: `cf-${vmid}`,
      memory: over.memory ?? 512,
      swap: 512,
      cores: 1,
      onboot: true,
      net0: over.net0 ?? 'name=eth0,bridge=vmbr0,ip=dhcp,type=veth',
      rootfs: over.rootfs ?? `local-lvm:vm-${vmid}-disk-0,size=4G`,
      unprivileged: true,
      tags: [],
      digest: '',
    },
  };
}

function guest(name: string, node: string, vmid: number, ip: string): GuestSummary {
  return { node, vmid, name, type: 'lxc', status: 'running', tags: [], ip };
}

type Written = { connector: Record<string, unknown> & { replicas: Record<string, unknown>[]; ssh: Record<string, unknown> } };

async function write(replicas: ExistingReplica[], guests: GuestSummary[]) {
  const lab = await fakeHomelab();
  const base = await lab.load();
  const result = writeImportedInventory(base, {
    tunnel: { id: TUNNEL, name: 'homelab', status: 'healthy', createdAt: '', configSrc: 'local' },
    ingressSource: 'config.yml',
    ingress: [{ hostname: 'media.example.com', service: 'http://192.0.2.11:8096' }, { service: 'http_status:404' }],
    connector: replicas[0]!.connector,
    records: [],
    guests: [...guests, guest('jellyfin', 'pve', 101, '192.0.2.11')],
    connectorLxc: replicas[0]!.lxc,
    replicas,
  });
  const file = join(lab.dir, 'imported.yaml');
  await writeFile(file, result.yaml);
  return {
    ...result,
    doc: parse(result.yaml) as Written,
    load: () => loadInventory(file, { env: { ...lab.env, PVE_TOKEN_ID: 'proxflare@pve!cli' } }),
  };
}

describe('writeImportedInventory with several connectors', () => {
  it('writes one replica per connector with what is its own; an address no LXC has becomes its sshHost', async () => {
    const { doc, notes, yaml, load } = await write(
      [
        { connector: connector('192.0.2.40'), lxc: lxc('pve', 150) },
        { connector: connector('192.0.2.41'), lxc: lxc('pve2', 151, { rootfs: 'fast:vm-151-disk-0,size=4G' }) },
        { connector: connector('192.0.2.42'), lxc: undefined },
      ],
      [guest('cf-a', 'pve', 150, '192.0.2.40'), guest('cf-b', 'pve2', 151, '192.0.2.41')],
    );
    expect(doc.connector.replicas).toEqual([
      { hostname: 'cf-a', vmid: 150 },
      { hostname: 'cf-b', node: 'pve2', vmid: 151, storage: 'fast' },
      { hostname: 'cloudflared-3', sshHost: '192.0.2.42' },
    ]);
    // One address is not every replica's: sync would dial it for all of them.
    expect(doc.connector.ssh['host']).toBeUndefined();
    expect(doc.connector['hostname']).toBeUndefined();
    expect(doc.connector['storage']).toBe('local-lvm');
    expect(notes).toEqual([
      'replica cloudflared-3 (192.0.2.42): no Proxmox LXC has this address; it is reached by sshHost, and sync would create lxc/cloudflared-3',
    ]);
    for (const a of ['192.0.2.40', '192.0.2.41', '192.0.2.42']) expect(yaml).toContain(`#   connector ${a}: cloudflared 2026.8.2`);
    const inventory = await load();
    expect(inventory.connectors.map((c) => [c.hostname, c.node, c.storage, c.ssh.host])).toEqual([
      ['cf-a', 'pve', 'local-lvm', undefined],
      ['cf-b', 'pve2', 'fast', undefined],
      ['cloudflared-3', 'pve', 'local-lvm', '192.0.2.42'],
    ]);
  });

  it("names settings and a config.yml that differ from the first replica's, and gives each static address to its replica", async () => {
    const net = (ip: string) => `name=eth0,bridge=vmbr0,ip=${ip},gw=192.0.2.1,type=veth`;
    const { doc, notes, load } = await write(
      [
        { connector: connector('192.0.2.40'), lxc: lxc('pve', 150, { net0: net('192.0.2.40/24') }) },
        { connector: connector('192.0.2.41'), lxc: lxc('pve', 151, { net0: net('192.0.2.41/24'), memory: 1024 }), configDiffers: true },
      ],
      [guest('cf-a', 'pve', 150, '192.0.2.40'), guest('cf-b', 'pve', 151, '192.0.2.41')],
    );
    expect(doc.connector.replicas).toEqual([
      { hostname: 'cf-a', vmid: 150, network: { bridge: 'vmbr0', ip: '192.0.2.40/24', gw: '192.0.2.1' } },
      { hostname: 'cf-b', vmid: 151, network: { bridge: 'vmbr0', ip: '192.0.2.41/24', gw: '192.0.2.1' } },
    ]);
    expect(doc.connector['memory']).toBe(512);
    expect(notes).toEqual([
      "replica cf-b (192.0.2.41): memory 1024 here, but the shared connector settings are cf-a's; sync --dry-run shows what that changes",
      "replica cf-b (192.0.2.41): its config.yml serves another ingress than replica cf-a (192.0.2.40)'s; cf-a's is imported",
    ]);
    expect((await load()).connectors.map((c) => c.network.ip)).toEqual(['192.0.2.40/24', '192.0.2.41/24']);
  });
});
