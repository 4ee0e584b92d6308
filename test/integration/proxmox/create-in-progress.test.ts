import { readFileSync } from 'node:fs';
import { type Agent, fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { planLxc } from '../../../src/plan/plan-lxc.js';
import { renderPlan } from '../../../src/plan/render-plan.js';
import { renderPlanJson } from '../../../src/plan/render-plan-json.js';
import { lxcCreateParams } from '../../../src/proxmox/lxc-spec.js';
import { createDispatcher } from '../../../src/proxmox/tls-dispatcher.js';
import { CURRENT_SYSTEM_TEMPLATES, RECOMMENDED_PRIVILEGES_PVE9 } from '../../../src/sim/proxmox/seed.js';
import type { SimTask } from '../../../src/sim/proxmox/sim-state.js';
import { baseSeed, connectorSpec, guest, type Harness, SSH_KEY, startHarness, TOKEN_ID, TOKEN_SECRET, ourConnector } from './helpers.js';

/**
 * Issue #11: a container being created (or otherwise locked) is a state, not an absence; the
 * simulator behaves as PVE does meanwhile (README-pve §4.14) and the adapter waits for it instead of
 * planning a second connector. Task progress is driven by the simulator's hold/release and request
 * events, never by sleeping.
 */

const facts = JSON.parse(readFileSync(new URL('../../fixtures/pve/busy-facts.json', import.meta.url), 'utf8')) as Record<
  string,
  string | number | string[]
>;
const fact = (key: string, vmid: number) => String(facts[key]).replace('{vmid}', String(vmid));

const OTHER = 'root@pam!other';
const OTHER_SECRET = '11111111-2222-4333-8444-555566667777';

let h: Harness | undefined;
let dispatcher: Agent | undefined;
afterEach(async () => {
  await dispatcher?.close();
  await h?.close();
  h = undefined;
  dispatcher = undefined;
});

interface Answer {
  status: number;
  reason: string;
  data: unknown;
}

/** One raw API request, as another client (or an earlier, interrupted run) would send it. */
async function raw(
  method: string,
  path: string,
  params: Record<string, string | number> = {},
  token = `${TOKEN_ID}=${TOKEN_SECRET}`,
): Promise<Answer> {
  dispatcher ??= createDispatcher({ fingerprint: h!.sim.fingerprint, connectTimeoutMs: 5000 });
  const url = new URL(`/api2/json${path}`, h!.sim.url);
  let body: string | undefined;
  const headers: Record<string, string> = { Authorization: `PVEAPIToken=${token}` };
  const strings = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
  if (method === 'GET' || method === 'DELETE') for (const [k, v] of Object.entries(strings)) url.searchParams.set(k, v);
  else {
    body = new URLSearchParams(strings).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, { method, body, headers, dispatcher });
  const json = (await res.json().catch(() => ({}))) as { data?: unknown };
  return { status: res.status, reason: res.statusText, data: json.data };
}

/** Resolves once the task stopped (at once when it already had by the time its UPID came back). */
const taskEnd = (upid: string) =>
  new Promise<SimTask>((resolve) => {
    const done = h!.sim.state.tasks.get(upid);
    if (done?.status === 'stopped') return resolve(done);
    const on = (t: SimTask) => {
      if (t.upid !== upid) return;
      h!.sim.events.off('task-end', on);
      resolve(t);
    };
    h!.sim.events.on('task-end', on);
  });

const tasksQuery = () => h!.sim.nextRequest((e) => e.method === 'GET' && e.path === '/nodes/pve/tasks');

function rowOf(rows: unknown, vmid: number): Record<string, unknown> | undefined {
  return (rows as Record<string, unknown>[]).find((r) => r.vmid === vmid);
}

/** The previous run's create, whose answer it never got: POST /nodes/pve/lxc with our token, held in phase 1. */
async function createHeld(token = `${TOKEN_ID}=${TOKEN_SECRET}`, vmid = 100): Promise<{ upid: string; release: () => void }> {
  const hold = h!.sim.faults.holdNextTask('vzcreate');
  const created = await raw('POST', '/nodes/pve/lxc', lxcCreateParams(connectorSpec(), vmid, SSH_KEY), token);
  expect(created.status).toBe(200);
  const upid = await hold.started;
  expect(created.data).toBe(upid);
  return { upid, release: hold.release };
}

const twoTokens = () =>
  baseSeed([], {
    tokens: [
      { id: TOKEN_ID, secret: TOKEN_SECRET, privileges: RECOMMENDED_PRIVILEGES_PVE9 },
      { id: OTHER, secret: OTHER_SECRET, privileges: [...RECOMMENDED_PRIVILEGES_PVE9, 'Sys.Modify'] },
    ],
  });

describe('simulator: a create in progress looks as on PVE (README-pve §4.14)', () => {
  it('phase 1: lock-only config, an "unknown" row without name or tags, live status/current, the running task listed', async () => {
    h = await startHarness(baseSeed(), { statusRefreshMs: Infinity, flockTimeoutMs: 20 });
    const { upid, release } = await createHeld();

    const config = (await raw('GET', '/nodes/pve/lxc/100/config')).data as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual(facts.createPhase1ConfigKeys);
    expect(config.lock).toBe(facts.lockCreate);

    const row = rowOf((await raw('GET', '/cluster/resources', { type: 'vm' })).data, 100)!;
    expect(row).toMatchObject({ id: 'lxc/100', type: 'lxc', status: facts.resourcesStatusBeforeRrd, lock: 'create' });
    expect(row.name).toBeUndefined();
    expect(row.tags).toBeUndefined();

    const current = (await raw('GET', '/nodes/pve/lxc/100/status/current')).data as Record<string, unknown>;
    expect(current).toMatchObject({
      status: 'stopped',
      name: fact('lockOnlyName', 100),
      lock: 'create',
      maxmem: 512 * 1024 ** 2,
      maxdisk: 4 * 1024 ** 3,
    });
    expect(current.tags).toBeUndefined();

    const active = (await raw('GET', '/nodes/pve/tasks', { vmid: 100, source: 'active' })).data as Record<string, unknown>[];
    expect(active).toEqual([
      expect.objectContaining({ upid, type: 'vzcreate', id: '100', user: TOKEN_ID, status: facts.activeTaskStatus }),
    ]);

    // start: accepted with a task that fails waiting for the flock; PUT config fails synchronously; DELETE refuses the lock.
    const start = await raw('POST', '/nodes/pve/lxc/100/status/start');
    expect(start.status).toBe(200);
    const startEnd = await taskEnd(start.data as string);
    expect(startEnd.exitstatus).toBe(fact('flockTimeout', 100));
    const put = await raw('PUT', '/nodes/pve/lxc/100/config', { memory: 1024 });
    expect(put).toMatchObject({ status: 500, reason: fact('flockTimeout', 100) });
    const del = await raw('DELETE', '/nodes/pve/lxc/100');
    expect(del).toMatchObject({ status: 500, reason: facts.ctLocked });

    const ended = taskEnd(upid);
    release();
    expect((await ended).exitstatus).toBe('OK');
    const full = (await raw('GET', '/nodes/pve/lxc/100/config')).data as Record<string, unknown>;
    expect(full).toMatchObject({ hostname: 'cloudflared', tags: 'proxflare' });
    expect(full.lock).toBeUndefined();
    expect((await raw('GET', '/nodes/pve/tasks', { vmid: 100, source: 'active' })).data).toEqual([]);
    const archive = (await raw('GET', '/nodes/pve/tasks', { vmid: 100, typefilter: 'vzcreate' })).data as Record<string, unknown>[];
    expect(archive).toEqual([expect.objectContaining({ upid, status: 'OK', user: 'proxflare@pve', tokenid: 'cli' })]);

    // The row keeps lagging until pvestatd's next cycle.
    expect(rowOf((await raw('GET', '/cluster/resources', { type: 'vm' })).data, 100)).toMatchObject({
      status: 'unknown',
      tags: 'proxflare',
    });
    h.sim.pvestatd();
    expect(rowOf((await raw('GET', '/cluster/resources', { type: 'vm' })).data, 100)).toMatchObject({
      status: 'stopped',
      name: 'cloudflared',
    });
  });

  it('a leftover config lock fails start inside its task and PUT synchronously with "CT is locked"', async () => {
    h = await startHarness(
      baseSeed([{ type: 'lxc', vmid: 101, node: 'pve', name: 'cloudflared', status: 'stopped', tags: ['proxflare'] }]),
    );
    h.sim.state.guests.get(101)!.config.lock = 'create';
    const start = await raw('POST', '/nodes/pve/lxc/101/status/start');
    expect(start.status).toBe(200);
    expect((await taskEnd(start.data as string)).exitstatus).toBe(facts.ctLocked);
    expect(await raw('PUT', '/nodes/pve/lxc/101/config', { memory: 1024 })).toMatchObject({ status: 500, reason: facts.ctLocked });
  });

  it('/cluster/resources status lags a start by a pvestatd cycle; status/current is live', async () => {
    h = await startHarness(baseSeed([{ type: 'lxc', vmid: 101, node: 'pve', name: 'jellyfin', status: 'stopped' }]), {
      statusRefreshMs: Infinity,
    });
    const start = await raw('POST', '/nodes/pve/lxc/101/status/start');
    expect((await taskEnd(start.data as string)).exitstatus).toBe('OK');
    expect(rowOf((await raw('GET', '/cluster/resources', { type: 'vm' })).data, 101)).toMatchObject({ status: 'stopped' });
    expect(((await raw('GET', '/nodes/pve/lxc/101/status/current')).data as Record<string, unknown>).status).toBe('running');
    h.sim.pvestatd();
    expect(rowOf((await raw('GET', '/cluster/resources', { type: 'vm' })).data, 101)).toMatchObject({ status: 'running' });
  });

  it('a wedged guest agent answers as qemu-server does', async () => {
    h = await startHarness(baseSeed([{ type: 'qemu', vmid: 200, node: 'pve', name: 'nextcloud', status: 'running', agent: 'timeout' }]), {
      agentTimeoutMs: 0,
    });
    const answer = await raw('GET', '/nodes/pve/qemu/200/agent/network-get-interfaces');
    expect(answer).toMatchObject({ status: 500, reason: fact('qgaTimeout', 200) });
  });
});

describe('adapter: a busy connector is waited for, never planned past', () => {
  it('a create of ours in phase 1 is found through its task, waited for with progress, then read as the connector', async () => {
    h = await startHarness(baseSeed(), { statusRefreshMs: Infinity });
    const { upid, release } = await createHeld();
    const spec = connectorSpec();
    const read = h.adapter.readState(spec, []);
    await tasksQuery(); // found as ours
    await tasksQuery(); // now waiting on it
    release();
    const state = await read;
    expect(h.reporter.lines).toContain(`step lxc/cloudflared being created by task ${upid}, waiting`);
    expect(state.connector).toMatchObject({ vmid: 100, status: 'stopped', config: { hostname: 'cloudflared', tags: ['proxflare'] } });
    expect(state.connector!.lock).toBeUndefined();
    const plan = planLxc(spec, state);
    expect(plan.errors).toEqual([]);
    expect(plan.change).toMatchObject({ action: 'update', start: true, ref: { node: 'pve', vmid: 100 } });
    expect(h.sim.requests.filter((r) => r.method === 'POST' && r.path === '/nodes/pve/lxc')).toHaveLength(1);
  });

  it('a pvestatd cycle during the create leaves the row named CT<vmid> with our tag: still found as the connector', async () => {
    h = await startHarness(baseSeed(), { statusRefreshMs: Infinity });
    const { upid, release } = await createHeld();
    h.sim.pvestatd(); // the RRD now says "CT100", before the config has its hostname (README-pve §4.14)
    release();
    await taskEnd(upid);
    const rows = await raw('GET', '/cluster/resources', { type: 'vm' });
    expect(rowOf(rows.data, 100)).toMatchObject({ name: 'CT100', tags: 'proxflare' });
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(state.connector).toMatchObject({ vmid: 100, config: { hostname: 'cloudflared' } });
    expect(planLxc(connectorSpec(), state).change.action).not.toBe('create');
  });

  it('still being created at the deadline: the plan refuses it, naming the task, and plans no create', async () => {
    h = await startHarness(baseSeed(), { statusRefreshMs: Infinity }, { busyWaitMs: 0 });
    const { upid, release } = await createHeld();
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(state.connector).toMatchObject({ vmid: 100, lock: 'create', busyTask: upid });
    const plan = planLxc(connectorSpec(), state);
    expect(plan.change.action).not.toBe('create');
    expect(plan.errors).toEqual([expect.stringContaining(`lxc/cloudflared (CT 100): being created by task ${upid}`)]);
    expect(plan.errors[0]).toContain(`re-run when task ${upid} ends`);
    release();
  });

  it('a lock-only CT being created by another token is not ours: the connector is still absent', async () => {
    h = await startHarness(twoTokens(), { statusRefreshMs: Infinity });
    const { release } = await createHeld(`${OTHER}=${OTHER_SECRET}`, 300);
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(state.connector).toBeUndefined();
    expect(planLxc(connectorSpec(), state).change.action).toBe('create');
    release();
  });

  it('start on a CT whose create holds the lock waits for the task, then starts', async () => {
    h = await startHarness(baseSeed(), { statusRefreshMs: Infinity, flockTimeoutMs: 20 });
    const { upid, release } = await createHeld();
    const started = h.adapter.startLxc({ node: 'pve', vmid: 100 });
    await tasksQuery(); // the refused start looks for the lock holder
    release();
    await started;
    expect(h.sim.state.guests.get(100)!.status).toBe('running');
    expect(h.reporter.lines).toContain(`step CT 100 being created by task ${upid}, waiting`);
  });

  it('start and update on a CT locked by someone else report "busy (lock: X)" and write nothing more', async () => {
    h = await startHarness(
      baseSeed([{ type: 'lxc', vmid: 101, node: 'pve', name: 'cloudflared', status: 'stopped', tags: ['proxflare'] }]),
      {},
      { busyWaitMs: 0 },
    );
    h.sim.state.guests.get(101)!.config.lock = 'backup';
    const ref = { node: 'pve', vmid: 101 };
    await expect(h.adapter.startLxc(ref)).rejects.toThrow(
      /CT 101 is busy \(lock: backup\)[\s\S]*hint: re-run when the operation holding the lock ends/,
    );
    await expect(h.adapter.updateLxc(ref, { memory: 1024 }, '0'.repeat(40))).rejects.toThrow(/CT 101 is busy \(lock: backup\)/);
    expect(h.sim.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /nodes/pve/lxc/101/status/start',
      'PUT /nodes/pve/lxc/101/config',
    ]);
  });

  it('the connector status comes from status/current, not the lagging row', async () => {
    h = await startHarness(
      baseSeed([
        ourConnector({
          status: 'stopped',
          onboot: true,
          rootfs: 'local-lvm:vm-150-disk-0,size=4G',
          interfaces: [{ name: 'eth0', ipv4: '127.0.10.50/24' }],
        }),
      ]),
      { statusRefreshMs: Infinity },
    );
    await h.adapter.startLxc({ node: 'pve', vmid: 150 });
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(rowOf((await raw('GET', '/cluster/resources', { type: 'vm' })).data, 150)).toMatchObject({ status: 'stopped' });
    expect(state.connector).toMatchObject({ status: 'running', ip: '127.0.10.50' });
    expect(planLxc(connectorSpec(), state).change.action).toBe('noop');
  });
});

describe('adapter: per-guest discovery failures stay per guest', () => {
  it('a VM whose agent times out is that guest’s error, named with the fix; the others resolve', async () => {
    h = await startHarness(
      baseSeed([
        {
          type: 'qemu',
          vmid: 200,
          node: 'pve',
          name: 'nextcloud',
          status: 'running',
          agent: 'timeout',
          interfaces: [{ name: 'ens18', ipv4: '192.168.1.20/24' }],
        },
        {
          type: 'lxc',
          vmid: 101,
          node: 'pve',
          name: 'jellyfin',
          status: 'running',
          interfaces: [{ name: 'eth0', ipv4: '192.168.1.101/24' }],
        },
      ]),
      { agentTimeoutMs: 0 },
    );
    const state = await h.adapter.readState(connectorSpec(), [guest('nextcloud', 'vm', 200), guest('jellyfin', 'lxc', 101)]);
    expect(state.guestIps.get('jellyfin')).toEqual({ ok: true, ip: '192.168.1.101', source: 'interfaces' });
    const vm = state.guestIps.get('nextcloud')!;
    expect(vm.ok).toBe(false);
    expect(!vm.ok && vm.error).toMatch(
      /guest "nextcloud" \(VM 200 on pve\): the QEMU guest agent did not answer in time \(VM 200 qga command 'guest-network-get-interfaces' failed - got timeout\): restart it/,
    );
    expect(!vm.ok && vm.error).toContain('set guests[200].ip');
  });
});

describe('templates resolve on the node', () => {
  const emptyCache = () => ({
    storages: [
      { id: 'local', type: 'dir' as const, content: ['iso', 'vztmpl', 'backup'], templates: [] },
      { id: 'local-lvm', type: 'lvmthin' as const, content: ['rootdir', 'images'] },
    ],
  });

  it('debian-12 → the newest debian-12-standard of the appliance index, shown in the plan, downloaded on an empty cache', async () => {
    h = await startHarness(
      baseSeed([], {
        ...emptyCache(),
        aplinfo: [{ template: facts.retiredDebian12Template as string, os: 'debian-12', version: '12.7-1' }, ...CURRENT_SYSTEM_TEMPLATES],
      }),
    );
    const spec = connectorSpec({ template: 'debian-12' });
    const state = await h.adapter.readState(spec, []);
    const volid = `local:vztmpl/${facts.currentDebian12Template}`;
    expect(state.template).toEqual({ requested: 'debian-12', volid });
    expect(state.templatePresent).toBe(false);
    const plan = planLxc(spec, state);
    expect(plan.change).toMatchObject({ action: 'create', downloadTemplate: true, spec: { template: volid } });
    expect(renderPlan({ changes: [plan.change], conflicts: [], warnings: [], origins: [] }, { color: false })).toContain(
      `template: debian-12 → ${volid}`,
    );
    await h.adapter.ensureTemplate(plan.change.spec);
    expect(h.sim.requests.filter((r) => r.method === 'POST').map((r) => r.params)).toEqual([
      { node: 'pve', storage: 'local', template: facts.currentDebian12Template },
    ]);
    const ref = await h.adapter.createLxc({ connector: plan.change.spec, sshPublicKey: SSH_KEY });
    expect(h.sim.state.guests.get(ref.vmid)!.config.hostname).toBe('cloudflared');
  });

  it('a release the index does not list fails with the pveam fix; a volid is a pin used as is', async () => {
    h = await startHarness(baseSeed([], emptyCache()));
    await expect(h.adapter.readState(connectorSpec({ template: 'debian-99' }), [])).rejects.toThrow(
      /lists no debian-99-standard template[\s\S]*pveam update/,
    );
    const pinned = await h.adapter.readState(connectorSpec({ template: `local:vztmpl/${facts.retiredDebian12Template}` }), []);
    expect(pinned.template).toEqual({
      requested: `local:vztmpl/${facts.retiredDebian12Template}`,
      volid: `local:vztmpl/${facts.retiredDebian12Template}`,
    });
    expect(h.sim.requests.some((r) => r.path === '/nodes/pve/aplinfo')).toBe(true);
  });
});

describe('plan display of net0', () => {
  it('compares the managed keys only: PVE’s hwaddr= and type=veth never show as a change (text and JSON)', async () => {
    h = await startHarness(
      baseSeed([
        ourConnector({
          memory: 256,
          rootfs: 'local-lvm:vm-150-disk-0,size=4G',
          onboot: true,
          net0: 'name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth',
          interfaces: [{ name: 'eth0', ipv4: '127.0.10.50/24' }],
        }),
      ]),
    );
    const state = await h.adapter.readState(connectorSpec(), []);
    const change = planLxc(connectorSpec(), state).change;
    expect(change).toMatchObject({ action: 'update', patch: { memory: 512 } });
    const plan = { changes: [change], conflicts: [], warnings: [], origins: [] };
    const text = renderPlan(plan, { color: false });
    expect(text).toContain('memory: 256 → 512');
    expect(text).not.toContain('net0');
    const json = renderPlanJson(plan) as { changes: { before: { net0: string }; after: { net0: string } }[] };
    expect(json.changes[0]!.before.net0).toBe(json.changes[0]!.after.net0);
  });
});
