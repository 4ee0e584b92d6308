import { afterEach, describe, expect, it } from 'vitest';
import { planLxc } from '../../../src/plan/plan-lxc.js';
import { baseSeed, connectorSpec, type Harness, SSH_KEY, startHarness, ourConnector } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const posts = (h: Harness, path: RegExp) => h.sim.requests.filter((r) => r.method === 'POST' && path.test(r.path));

describe('connector LXC lifecycle against the simulator', () => {
  it('creates from nothing, and a second read finds it (no duplicate)', async () => {
    h = await startHarness(baseSeed());
    const spec = connectorSpec();
    const first = await h.adapter.readState(spec, []);
    expect(first.connector).toBeUndefined();
    expect(first.templatePresent).toBe(true);
    const plan = planLxc(spec, first);
    expect(plan.change.action).toBe('create');
    expect(plan.change.downloadTemplate).toBe(false);

    const ref = await h.adapter.createLxc({ connector: spec, sshPublicKey: SSH_KEY });
    expect(ref).toEqual({ node: 'pve', vmid: 100 });
    await h.adapter.startLxc(ref);
    expect(await h.adapter.waitForIp(ref, 2000)).toBe('127.0.0.1');

    const create = posts(h, /^\/nodes\/pve\/lxc$/);
    expect(create).toHaveLength(1);
    expect(create[0]!.params).toMatchObject({
      vmid: '100',
      hostname: 'cloudflared',
      ostemplate: 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
      rootfs: 'local-lvm:4',
      memory: '512',
      swap: '512',
      cores: '1',
      net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
      unprivileged: '1',
      features: 'nesting=1',
      onboot: '1',
      tags: 'proxflare',
      'ssh-public-keys': SSH_KEY,
    });

    const second = await h.adapter.readState(spec, []);
    expect(second.connector).toMatchObject({ node: 'pve', vmid: 100, status: 'running', ip: '127.0.0.1' });
    expect(second.connector!.config).toMatchObject({
      hostname: 'cloudflared',
      memory: 512,
      cores: 1,
      onboot: true,
      unprivileged: true,
      tags: ['proxflare'],
    });
    expect(second.connector!.config.digest).toMatch(/^[0-9a-f]{40}$/);
    const again = planLxc(spec, second);
    expect(again.change.action).toBe('noop');
    expect(again.errors).toEqual([]);
  });

  it('finds a just-created connector even before its row has a name (RRD lag)', async () => {
    h = await startHarness(baseSeed(), { statusRefreshMs: Infinity });
    const spec = connectorSpec();
    await h.adapter.createLxc({ connector: spec, sshPublicKey: SSH_KEY });
    const state = await h.adapter.readState(spec, []);
    expect(state.connector?.vmid).toBe(100);
    expect(state.connector?.status).toBe('stopped');
  });

  it('coerces vmids that arrive as strings (pitfall: numbers vs strings)', async () => {
    h = await startHarness(
      baseSeed([
        ourConnector({ interfaces: [{ name: 'eth0', ipv4: '127.0.10.50/24' }] }),
        {
          type: 'lxc',
          vmid: 101,
          node: 'pve',
          name: 'jellyfin',
          status: 'running',
          interfaces: [{ name: 'eth0', ipv4: '192.168.1.101/24' }],
        },
      ]),
      { vmidAsString: true },
    );
    const state = await h.adapter.readState(connectorSpec(), [
      { name: 'jellyfin', type: 'lxc', vmid: 101, node: 'pve', services: [], field: 'guests[0]' },
    ]);
    expect(state.connector).toMatchObject({ vmid: 150, ip: '127.0.10.50' });
    expect(state.guestIps.get('jellyfin')).toEqual({ ok: true, ip: '192.168.1.101', source: 'interfaces' });
  });

  it('downloads a missing template through aplinfo and waits for the task', async () => {
    h = await startHarness(
      baseSeed([], {
        storages: [
          { id: 'local', type: 'dir', content: ['vztmpl'] },
          { id: 'local-lvm', type: 'lvmthin', content: ['rootdir'] },
        ],
      }),
    );
    const spec = connectorSpec();
    const state = await h.adapter.readState(spec, []);
    expect(state.templatePresent).toBe(false);
    expect(planLxc(spec, state).change.downloadTemplate).toBe(true);
    await h.adapter.ensureTemplate(spec);
    expect(posts(h, /^\/nodes\/pve\/aplinfo$/).map((r) => r.params)).toEqual([
      { node: 'pve', storage: 'local', template: 'debian-12-standard_12.12-1_amd64.tar.zst' },
    ]);
    expect((await h.adapter.readState(spec, [])).templatePresent).toBe(true);
    await h.adapter.ensureTemplate(spec); // present now: no second download
    expect(posts(h, /aplinfo/)).toHaveLength(1);
  });

  it('a template unknown to the catalogue fails with the pveam fix', async () => {
    h = await startHarness(
      baseSeed([], {
        storages: [
          { id: 'local', type: 'dir', content: ['vztmpl'] },
          { id: 'local-lvm', type: 'lvmthin', content: ['rootdir'] },
        ],
      }),
    );
    const spec = connectorSpec({ template: 'local:vztmpl/nope_1.0_amd64.tar.zst' });
    await expect(h.adapter.ensureTemplate(spec)).rejects.toThrow(/no "nope_1.0_amd64.tar.zst"[\s\S]*pveam update/);
  });

  it('a failing create task surfaces its exit status and log tail; the config is gone', async () => {
    h = await startHarness(baseSeed());
    h.sim.faults.failNextTask('vzcreate', 'lvcreate: insufficient free space in volume group pve');
    const err = await h.adapter.createLxc({ connector: connectorSpec(), sshPublicKey: SSH_KEY }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /task vzcreate 100 on node pve failed: unable to create CT 100 - lvcreate: insufficient free space/,
    );
    expect((err as Error).message).toMatch(/task log[\s\S]*TASK ERROR: unable to create CT 100/);
    expect(h.sim.state.guests.has(100)).toBe(false);
  });

  it('uses the pinned vmid instead of /cluster/nextid', async () => {
    h = await startHarness(baseSeed());
    const ref = await h.adapter.createLxc({ connector: connectorSpec({ vmid: 4242 }), sshPublicKey: SSH_KEY });
    expect(ref.vmid).toBe(4242);
    expect(h.sim.requests.some((r) => r.path === '/cluster/nextid')).toBe(false);
  });

  it('drift is planned as an in-place update with the digest and applied', async () => {
    h = await startHarness(
      baseSeed([
        ourConnector({
          memory: 256,
          cores: 1,
          swap: 512,
          onboot: false,
          rootfs: 'local-lvm:vm-150-disk-0,size=4G',
          net0: 'name=eth0,bridge=vmbr1,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth',
          interfaces: [{ name: 'eth0', ipv4: '127.0.10.50/24' }],
        }),
      ]),
    );
    const spec = connectorSpec({ memory: 1024 });
    const state = await h.adapter.readState(spec, []);
    const plan = planLxc(spec, state);
    expect(plan.errors).toEqual([]);
    expect(plan.change.action).toBe('update');
    expect(plan.change.patch).toEqual({
      memory: 1024,
      onboot: true,
      net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth',
    });
    expect(plan.change.needsRestart).toEqual([]);
    expect(plan.change.appliedLive).toEqual(['net0']);
    expect(plan.change.digest).toBe(state.connector!.config.digest);

    await h.adapter.updateLxc(plan.change.ref!, plan.change.patch!, plan.change.digest!);
    const after = planLxc(spec, await h.adapter.readState(spec, []));
    expect(after.change.action).toBe('noop');
    expect(h.sim.state.guests.get(150)!.config.net0).toBe('name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth');
  });

  it('a concurrent edit makes the digest stale: the update is refused, nothing overwritten', async () => {
    h = await startHarness(
      baseSeed([
        ourConnector({
          memory: 256,
          onboot: true,
          rootfs: 'local-lvm:vm-150-disk-0,size=4G',
          net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
          interfaces: [{ name: 'eth0', ipv4: '127.0.10.50/24' }],
        }),
      ]),
    );
    const spec = connectorSpec({ memory: 1024 });
    const plan = planLxc(spec, await h.adapter.readState(spec, []));
    // Someone else changes the container between plan and apply (with a fresh digest of their own).
    const theirs = await h.adapter.readState(spec, []);
    await h.adapter.updateLxc(plan.change.ref!, { cores: 2 }, theirs.connector!.config.digest);
    await expect(h.adapter.updateLxc(plan.change.ref!, plan.change.patch!, plan.change.digest!)).rejects.toThrow(
      /CT 150 was changed concurrently[\s\S]*re-run sync/,
    );
    expect(h.sim.state.guests.get(150)!.config.memory).toBe(256);
  });

  it('a stopped connector is planned to start; a same-named LXC without our tag is a conflict', async () => {
    h = await startHarness(
      baseSeed([
        ourConnector({
          status: 'stopped',
          memory: 512,
          onboot: true,
          rootfs: 'local-lvm:vm-150-disk-0,size=4G',
          net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
        }),
        { type: 'lxc', vmid: 151, node: 'pve', name: 'cloudflared', status: 'running', tags: ['network'] },
      ]),
    );
    const spec = connectorSpec();
    const state = await h.adapter.readState(spec, []);
    expect(state.connector?.vmid).toBe(150);
    expect(state.foreignConnectors).toEqual([{ node: 'pve', vmid: 151 }]);
    const plan = planLxc(spec, state);
    expect(plan.change).toMatchObject({ action: 'update', start: true });
    expect(plan.conflicts[0]!.message).toMatch(/vmid 151 .* without the ownership tag "proxflare"/);
    await h.adapter.startLxc(plan.change.ref!);
    expect(h.sim.state.guests.get(150)!.status).toBe('running');
  });
});
