import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { createProxmox } from '../../../src/proxmox/create-proxmox.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 13 class 9 and the issue-11 leftover, against the Proxmox simulator. A second machine
 * (another adapter, same token, no shared lock) creates the connector at the exact moment one of
 * our requests arrives (a simulator hook, not a timing race). proxflare re-checks by tag right
 * before its create and right after it, every run keeps the lowest vmid, and later runs name the
 * duplicate instead of refusing. A create task that could not get the flock leaves a
 * `lock: create`-only CT: recognised as our failed create and reported with the fix.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** The other machine: its own adapter, creating the same connector and waiting for its task. */
async function otherMachineCreates(lab: SimulatedHomelab): Promise<number> {
  const inventory = await loadInventory(lab.inventoryFile, { env: lab.env });
  const other = createProxmox(inventory.proxmox, { taskPollMs: 10 });
  try {
    // As proxflare does: the symbolic template resolved on the node first.
    const { template } = await other.readState(inventory.connector, []);
    const connector = { ...inventory.connector, template: template!.volid };
    const ref = await other.createLxc({ connector, sshPublicKey: await readFile(inventory.connector.ssh.publicKey, 'utf8') });
    return ref.vmid;
  } finally {
    await other.close();
  }
}

function connectors(lab: SimulatedHomelab): number[] {
  return [...lab.proxmox.state.guests.values()]
    .filter((g) => g.type === 'lxc' && g.config['hostname'] === 'cloudflared')
    .map((g) => g.vmid)
    .sort((a, b) => a - b);
}

const CREATE = { method: 'POST', path: /^\/nodes\/[^/]+\/lxc$/ };

describe('two machines creating the connector at once', () => {
  it(
    'the other create lands as ours arrives: ours gets the higher vmid, removes itself, names the kept one; the re-run converges',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      let theirs: number | undefined;
      lab.proxmox.faults.interceptNext(CREATE, async () => {
        theirs = await otherMachineCreates(lab!);
      });
      const run = await runCli(lab, ['sync', '--yes']);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(theirs).toBeDefined();
      // Our POST found the vmid taken and took the next free one.
      const ours = Number(/removing CT (\d+), which this run just created/.exec(run.stderr)?.[1]);
      expect(ours).toBeGreaterThan(theirs!);
      expect(run.stderr).toContain(
        `another run created CT ${theirs} on pve at the same time; proxflare keeps it (the lowest vmid) and removed CT ${ours}`,
      );
      expect(run.stderr).not.toContain('Internal error');
      expect(connectors(lab)).toEqual([theirs]);

      const rerun = await runCli(lab, ['sync', '--yes']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      expect(connectors(lab)).toEqual([theirs]);
      expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
    },
  );

  it(
    'the other create lands right after ours: ours is kept (lowest vmid), and later runs name the duplicate instead of refusing',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      let theirs: number | undefined;
      // Our first poll of our create task: our CT exists, theirs comes next.
      lab.proxmox.faults.interceptNext({ method: 'GET', path: /\/tasks\/[^/]*:vzcreate:[^/]*\/status$/ }, async () => {
        theirs = await otherMachineCreates(lab!);
      });
      const run = await runCli(lab, ['sync', '--yes']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const [ours, second] = connectors(lab);
      expect(second).toBe(theirs);
      expect(run.stderr).toContain(
        `another run created CT ${theirs} on pve at the same time; proxflare keeps CT ${ours} (the lowest vmid)`,
      );

      const later = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(later.code, later.stdout + later.stderr).toBe(0);
      expect(later.stdout + later.stderr).toContain(`CT ${theirs} on pve also carries the tag "proxflare" and the hostname "cloudflared"`);
      expect(later.stdout + later.stderr).toContain(`proxflare keeps CT ${ours} (the lowest vmid) and never touches CT ${theirs}`);
      expect(later.stdout + later.stderr).toContain(`pct destroy ${theirs} --purge`);
    },
  );

  it(
    'the other create lands between our plan and our create: nothing is created, and the re-run uses theirs',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      let theirs: number | undefined;
      // The plan's read lists the guests once; the re-check before the create lists them again.
      lab.proxmox.faults.interceptNext(
        { method: 'GET', path: '/cluster/resources' },
        async () => {
          theirs = await otherMachineCreates(lab!);
        },
        1,
      );
      const run = await runCli(lab, ['sync', '--yes']);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toContain(
        `CT ${theirs} on pve with the tag "proxflare" and the hostname "cloudflared" appeared after the plan was made`,
      );
      expect(lab.proxmox.requests.filter((r) => r.method === 'POST' && /\/lxc$/.test(r.path)).length).toBe(1); // theirs only
      expect(connectors(lab)).toEqual([theirs]);
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      expect(connectors(lab)).toEqual([theirs]);
    },
  );
});

describe('a create that left `lock: create` behind (issue 11)', () => {
  it('is recognised as our failed create and reported with the commands that remove it', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20 });
    lab.proxmox.faults.flockTimeoutNextCreate();
    const failed = await runCli(lab, ['sync', '--yes']);
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stderr).toContain('got timeout');
    const leftover = [...lab.proxmox.state.guests.values()].find((g) => g.type === 'lxc' && g.config['lock'] === 'create')!;
    expect(leftover).toBeDefined();

    const plan = await runCli(lab, ['sync', '--dry-run']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const text = plan.stdout + plan.stderr;
    expect(text).toContain(`CT ${leftover.vmid} on pve is a failed create of this token`);
    expect(text).toContain(`pct unlock ${leftover.vmid} && pct destroy ${leftover.vmid} --purge`);

    // It holds nothing and blocks nothing: the next sync creates the connector beside it.
    const rerun = await runCli(lab, ['sync', '--yes']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(connectors(lab)).toHaveLength(1);
    expect(connectors(lab)[0]).not.toBe(leftover.vmid);
  });
});
