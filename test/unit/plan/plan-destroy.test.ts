import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import type { Inventory } from '../../../src/inventory/types.js';
import type { DestroyActual } from '../../../src/plan/plan-destroy.js';
import { planDestroy } from '../../../src/plan/plan-destroy.js';
import type { DnsRecord } from '../../../src/ports/cloudflare.js';
import type { ConnectorState } from '../../../src/ports/connector.js';
import { MANAGED_HEADER } from '../../../src/render/templates.js';
import { fakeHomelab } from '../../support/fake-homelab.js';

const TUNNEL = '6f1c6b0e-1111-4a2b-9c3d-000000000001';
const MARK = 'managed by proxflare: tunnel homelab';

function record(name: string, over: Partial<DnsRecord> = {}): DnsRecord {
  return {
    id: `id-${name}`,
    zoneId: 'z1',
    zoneName: 'example.com',
    name,
    type: 'CNAME',
    content: `${TUNNEL}.cfargotunnel.com`,
    proxied: true,
    ttl: 1,
    comment: MARK,
    ...over,
  };
}

function host(over: Partial<ConnectorState> = {}): ConnectorState {
  return {
    cloudflaredVersion: '2026.8.2',
    files: new Map([
      ['/etc/cloudflared/config.yml', { content: `${MANAGED_HEADER}\ntunnel: ${TUNNEL}\n`, mode: 0o644, owner: 'root' }],
      ['/etc/cloudflared/credentials.json', { content: JSON.stringify({ TunnelID: TUNNEL }), mode: 0o600, owner: 'root' }],
      ['/etc/systemd/system/cloudflared.service', { content: `${MANAGED_HEADER}\n[Unit]\n`, mode: 0o644, owner: 'root' }],
    ]),
    unit: { enabled: true, active: true },
    ...over,
  };
}

function actual(over: Partial<DestroyActual> = {}): DestroyActual {
  return {
    proxmox: {
      connector: {
        node: 'pve',
        vmid: 105,
        status: 'running',
        ip: '192.0.2.50',
        config: {
          hostname: 'cloudflared',
          memory: 512,
          swap: 512,
          cores: 1,
          onboot: true,
          net0: 'name=eth0',
          rootfs: 'local-lvm:vm-105-disk-0,size=4G',
          unprivileged: true,
          tags: ['proxflare'],
          digest: 'd',
        },
      },
      foreignConnectors: [],
    },
    tunnel: { id: TUNNEL, name: 'homelab', status: 'healthy', createdAt: '' },
    connectors: [{ id: 'c1', version: '2026.8.2', runAt: '', connections: 4, colos: ['fra01'] }],
    zones: [{ zoneId: 'z1', zoneName: 'example.com', records: [record('media.example.com'), record('vault.example.com')] }],
    host: host(),
    ...over,
  };
}

async function inventory(): Promise<Inventory> {
  return (await fakeHomelab()).load();
}

const opts = { keepConnector: false, allowMassDelete: false };
const addresses = (p: { changes: { address: string; action: string }[] }) => p.changes.map((c) => `${c.action} ${c.address}`);

describe('planDestroy', () => {
  it('deletes in the traffic-safe order: DNS, service, connections, tunnel, files, LXC', async () => {
    expect(addresses(planDestroy(await inventory(), actual(), opts))).toEqual([
      'delete dns/media.example.com',
      'delete dns/vault.example.com',
      'delete unit:cloudflared:cloudflared.service',
      'delete tunnel/homelab/connections',
      'delete tunnel/homelab',
      'delete file:cloudflared:/etc/cloudflared/config.yml',
      'delete file:cloudflared:/etc/systemd/system/cloudflared.service',
      'delete file:cloudflared:/etc/cloudflared/credentials.json',
      'delete lxc/cloudflared',
    ]);
  });

  it('touches only what carries our marks and lists the rest as kept', async () => {
    const zones = [
      {
        zoneId: 'z1',
        zoneName: 'example.com',
        records: [
          record('media.example.com'),
          record('other.example.com', { comment: 'managed by proxflare: tunnel homelab2' }),
          record('byhand.example.com', { comment: null }),
          record('www.example.com', { type: 'A', content: '198.51.100.1', comment: null }),
        ],
      },
    ];
    const foreignHost = host({
      files: new Map([
        [
          '/etc/systemd/system/cloudflared.service',
          { content: '[Unit]\nDescription=Cloudflare Tunnel client\n', mode: 0o644, owner: 'root' },
        ],
      ]),
    });
    const plan = planDestroy(
      await inventory(),
      actual({ zones, host: foreignHost, proxmox: { ...actual().proxmox, foreignConnectors: [{ node: 'pve', vmid: 120 }] } }),
      opts,
    );
    expect(addresses(plan)).toEqual([
      'delete dns/media.example.com',
      'delete tunnel/homelab/connections',
      'delete tunnel/homelab',
      'delete lxc/cloudflared',
    ]);
    expect(plan.kept.map((k) => k.address)).toEqual([
      'dns/byhand.example.com',
      'dns/other.example.com',
      'file:cloudflared:/etc/systemd/system/cloudflared.service',
      'unit:cloudflared:cloudflared.service',
      'lxc/cloudflared',
    ]);
    expect(plan.kept[1]!.reason).toContain('marked for tunnel homelab2');
    expect(plan.kept[4]!.reason).toContain('CT 120');
  });

  it('--keep-connector keeps the LXC but still stops cloudflared and removes our files', async () => {
    const plan = planDestroy(await inventory(), actual(), { ...opts, keepConnector: true });
    expect(addresses(plan)).not.toContain('delete lxc/cloudflared');
    expect(addresses(plan)).toContain('delete unit:cloudflared:cloudflared.service');
    expect(addresses(plan)).toContain('delete file:cloudflared:/etc/cloudflared/config.yml');
    expect(plan.kept).toEqual([{ address: 'lxc/cloudflared', reason: 'CT 105 kept (--keep-connector)' }]);
  });

  it('resumes: with the tunnel gone and the LXC stopped, only the LXC is left to destroy', async () => {
    const lxc = { ...actual().proxmox.connector!, status: 'stopped' };
    const plan = planDestroy(
      await inventory(),
      actual({ tunnel: undefined, connectors: [], zones: [], host: undefined, proxmox: { connector: lxc, foreignConnectors: [] } }),
      opts,
    );
    expect(addresses(plan)).toEqual(['delete lxc/cloudflared']);
  });

  it('has nothing to do when nothing of ours is left', async () => {
    const plan = planDestroy(
      await inventory(),
      { proxmox: { connector: undefined, foreignConnectors: [] }, tunnel: undefined, zones: [], host: undefined, connectors: [] },
      opts,
    );
    expect(plan.changes).toEqual([]);
  });

  it('refuses more DNS deletes than settings.maxDeletes unless allowed', async () => {
    const records = Array.from({ length: 6 }, (_, i) => record(`s${i}.example.com`));
    const zones = [{ zoneId: 'z1', zoneName: 'example.com', records }];
    expect(planDestroy(await inventory(), actual({ zones }), opts).errors[0]).toContain(
      'destroy would delete 6 DNS records, more than settings.maxDeletes (5)',
    );
    expect(planDestroy(await inventory(), actual({ zones }), { ...opts, allowMassDelete: true }).errors).toEqual([]);
  });
});

describe('destroy confirmation on a terminal', () => {
  async function onTty(answer: string) {
    const lab = await fakeHomelab();
    await lab.cli('sync', '--yes');
    let stdout = '';
    let stderr = '';
    const asked: string[] = [];
    const io: CliIo = {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: lab.env,
      cwd: lab.dir,
      isTTY: true,
      confirm: async () => true,
      prompt: async (q) => {
        asked.push(q);
        return answer;
      },
      createPorts: () => lab.ports,
    };
    const code = await main(['node', 'proxflare', '-i', lab.file, '--no-color', 'destroy'], io);
    return { code, stdout, stderr, asked, lab };
  }

  it('anything but the tunnel name cancels and changes nothing', async () => {
    const r = await onTty('yes');
    expect(r.asked).toEqual(['This deletes what is listed above. Type the tunnel name (homelab) to confirm:']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Destroy cancelled; nothing was changed.');
    expect(r.lab.cloudflare.tunnels.filter((t) => !t.deleted)).toHaveLength(1);
    expect(r.lab.proxmox.connector).toBeDefined();
  });

  it('the tunnel name destroys', async () => {
    const r = await onTty('homelab');
    expect(r.code, r.stderr).toBe(0);
    expect(r.lab.cloudflare.tunnels.filter((t) => !t.deleted)).toEqual([]);
    expect(r.lab.proxmox.connector).toBeUndefined();
    expect(r.lab.connector.unit).toEqual({ enabled: false, active: false });
  });
});
