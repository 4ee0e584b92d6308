import { afterEach, describe, expect, it } from 'vitest';
import { PlanError } from '../../../src/core/errors.js';
import { DEMO_TEMPLATE } from '../../../src/sim/proxmox/seed.js';
import { baseSeed, connectorSpec, type Harness, SSH_KEY, startHarness, TOKEN_ID, TOKEN_SECRET } from './helpers.js';

/**
 * A Proxmox cluster of several nodes in the simulator: /nodes, /cluster/status and
 * /cluster/resources span every node, a `dir` storage such as `local` is each node's own (its
 * own templates), storage.cfg `nodes` restricts a storage, and the adapter creates a replica on
 * the node its inventory entry names.
 */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const seed = () =>
  baseSeed([], {
    nodes: [
      { name: 'pve', ip: '127.0.9.1' },
      { name: 'pve2', ip: '127.0.9.2' },
      { name: 'pve3', ip: '127.0.9.3' },
    ],
    storages: [
      // pve3's own `local` has no template yet; local-lvm does not exist on pve3.
      {
        id: 'local',
        type: 'dir',
        content: ['iso', 'vztmpl', 'backup'],
        nodeTemplates: { pve: [DEMO_TEMPLATE], pve2: [DEMO_TEMPLATE], pve3: [] },
      },
      { id: 'local-lvm', type: 'lvmthin', content: ['rootdir', 'images'], nodes: ['pve', 'pve2'] },
    ],
  });

async function get<T>(path: string): Promise<{ status: number; data: T; text: string }> {
  const { Agent } = await import('undici');
  const res = await fetch(`${h!.sim.url}/api2/json${path}`, {
    headers: { Authorization: `PVEAPIToken=${TOKEN_ID}=${TOKEN_SECRET}` },
    // @ts-expect-error undici's dispatcher option on Node's fetch
    dispatcher: new Agent({ connect: { rejectUnauthorized: false } }),
  });
  const text = await res.text();
  return { status: res.status, data: (text.startsWith('{') ? (JSON.parse(text) as { data: T }).data : undefined) as T, text };
}

describe('multi-node Proxmox simulator', () => {
  it('lists every node in /nodes and /cluster/status, and storages per node in /cluster/resources', async () => {
    h = await startHarness(seed());
    const nodes = await get<{ node: string; status: string }[]>('/nodes');
    expect(nodes.data.map((n) => [n.node, n.status])).toEqual([
      ['pve', 'online'],
      ['pve2', 'online'],
      ['pve3', 'online'],
    ]);
    const cluster = await get<{ type: string; name: string; ip?: string; nodes?: number }[]>('/cluster/status');
    expect(cluster.data[0]).toMatchObject({ type: 'cluster', nodes: 3 });
    expect(cluster.data.filter((r) => r.type === 'node').map((r) => [r.name, r.ip])).toEqual([
      ['pve', '127.0.9.1'],
      ['pve2', '127.0.9.2'],
      ['pve3', '127.0.9.3'],
    ]);
    const storages = await get<{ id: string }[]>('/cluster/resources?type=storage');
    expect(storages.data.map((r) => r.id)).toEqual([
      'storage/pve/local',
      'storage/pve/local-lvm',
      'storage/pve2/local',
      'storage/pve2/local-lvm',
      'storage/pve3/local',
    ]);
    expect((await get<{ storage: string }[]>('/nodes/pve3/storage')).data.map((s) => s.storage)).toEqual(['local']);
    // Each node's `local` has its own templates.
    expect((await get<unknown[]>('/nodes/pve2/storage/local/content?content=vztmpl')).data).toHaveLength(1);
    expect((await get<unknown[]>('/nodes/pve3/storage/local/content?content=vztmpl')).data).toHaveLength(0);
    const missing = await get('/nodes/pve3/storage/local-lvm/content');
    expect(missing.status).toBe(500);
    expect(missing.text).toMatch(/storage 'local-lvm' is not available on node 'pve3'/);
  });

  it("creates a replica on the node it names, with that node's template", async () => {
    h = await startHarness(seed());
    const spec = connectorSpec({ hostname: 'cloudflared-2', node: 'pve2', field: 'connector.replicas[1]' });
    expect((await h.adapter.readState(spec, [])).templatePresent).toBe(true);
    const ref = await h.adapter.createLxc({ connector: spec, sshPublicKey: SSH_KEY });
    expect(ref.node).toBe('pve2');
    expect(h.sim.state.guests.get(ref.vmid)?.node).toBe('pve2');
    const rows = await get<{ vmid: number; node: string }[]>('/cluster/resources?type=vm');
    expect(rows.data.map((r) => [Number(r.vmid), r.node])).toEqual([[ref.vmid, 'pve2']]);

    // pve3's own `local` lacks the template: the read says so, and a download lands on pve3 only.
    const third = connectorSpec({ hostname: 'cloudflared-3', node: 'pve3', storage: 'local', field: 'connector.replicas[2]' });
    expect((await h.adapter.readState(third, [])).templatePresent).toBe(false);
    await h.adapter.ensureTemplate(third);
    expect((await get<unknown[]>('/nodes/pve3/storage/local/content?content=vztmpl')).data).toHaveLength(1);
    // A container on a storage that node does not have is refused as PVE does.
    await expect(h.adapter.createLxc({ connector: { ...third, storage: 'local-lvm' }, sshPublicKey: SSH_KEY })).rejects.toThrow(
      /storage 'local-lvm' is not available on node 'pve3'/,
    );
  });

  it('a replica on a node that is not in the cluster is a plan error naming its field', async () => {
    h = await startHarness(seed());
    const spec = connectorSpec({ hostname: 'cloudflared-2', node: 'pve9', field: 'connector.replicas[1]' });
    const read = h.adapter.readState(spec, []);
    await expect(read).rejects.toBeInstanceOf(PlanError);
    await expect(read).rejects.toThrow(
      /connector\.replicas\[1\]\.node: node "pve9" named in the inventory is not part of this Proxmox cluster \(known: pve, pve2, pve3\)/,
    );
  });
});
