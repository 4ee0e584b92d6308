import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { Ports } from '../../../src/sync/ports.js';
import { runCli } from '../../support/homelab-cli.js';
import type { CliRun } from '../../support/homelab-cli.js';
import type { TcpProxy } from '../../support/tcp-proxy.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';

/**
 * Issue 5, reliability: a fault at each step of a full apply, one at a time, over real
 * sockets (HTTPS Proxmox simulator, HTTP Cloudflare simulator, OpenSSH sshd). After each,
 * a clean re-run converges: no duplicate tunnel, LXC or record, no foreign record touched,
 * and the tokens never appear in any output.
 */

interface Case {
  name: string;
  /** Arms the fault in a simulator. */
  arm?(lab: SimulatedHomelab): void;
  /** A fault at the SSH layer: wraps the ports so the proxy can cut the connection at the right moment. */
  wrap?(proxy: TcpProxy): (ports: Ports) => Ports;
  /** The faulted run may survive the fault (429 storm, one retried 5xx). */
  survives?: boolean;
}

const CONFIG = '/etc/cloudflared/config.yml';

const cases: Case[] = [
  {
    name: 'Proxmox create task fails',
    arm: (lab) => lab.proxmox.faults.failNextTask('vzcreate', 'unable to create CT - no space left on device'),
  },
  {
    name: 'Proxmox answers 500 to the create',
    arm: (lab) => lab.proxmox.faults.failNext({ method: 'POST', path: '/nodes/pve/lxc' }, { status: 500, message: 'got timeout' }),
  },
  {
    name: 'Proxmox drops the connection after applying the create',
    arm: (lab) => lab.proxmox.faults.dropNext({ method: 'POST', path: '/nodes/pve/lxc' }, 'after'),
  },
  { name: 'Proxmox start task fails', arm: (lab) => lab.proxmox.faults.failNextTask('vzstart', 'startup for container failed') },
  {
    name: 'Cloudflare 5xx storm on tunnel create',
    arm: (lab) => lab.cloudflare.faults.serverError(10, { method: 'POST', path: /cfd_tunnel$/ }),
  },
  {
    name: 'Cloudflare drops the tunnel create',
    arm: (lab) => lab.cloudflare.faults.dropConnection(5, { method: 'POST', path: /cfd_tunnel$/ }),
  },
  {
    name: 'Cloudflare 429 storm on DNS',
    arm: (lab) => lab.cloudflare.faults.rateLimit(3, { path: 'dns_records', method: 'POST', retryAfter: 1 }),
    survives: true,
  },
  { name: 'Cloudflare 5xx storm on DNS', arm: (lab) => lab.cloudflare.faults.serverError(10, { path: 'dns_records', method: 'POST' }) },
  {
    name: 'Cloudflare drops DNS connections',
    arm: (lab) => lab.cloudflare.faults.dropConnection(10, { path: 'dns_records', method: 'POST' }),
  },
  { name: 'SSH connection dropped mid-upload of the config', wrap: cutDuringDeploy },
];

/** Cuts the SSH connection a few hundred bytes into the deploy's upload. */
function cutDuringDeploy(proxy: TcpProxy): (ports: Ports) => Ports {
  return (ports) => ({
    ...ports,
    connect: async (target) => {
      const host = await ports.connect(target);
      const deploy = host.deploy.bind(host);
      host.deploy = async (req) => {
        proxy.armDrop(600);
        return deploy(req);
      };
      return host;
    },
  });
}

let lab: SimulatedHomelab | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await lab?.close();
  lab = undefined;
  proxy = undefined;
});

function assertNoSecrets(lab: SimulatedHomelab, runs: CliRun[]): void {
  const secrets = [lab.env.PVE_TOKEN_SECRET!, lab.env.CLOUDFLARE_API_TOKEN!];
  for (const r of runs) for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
}

async function ownState(lab: SimulatedHomelab) {
  const tunnels = [...lab.cloudflare.state.tunnels.values()].filter((t) => t.deleted_at === null);
  const lxcs = [...lab.proxmox.state.guests.values()].filter((g) => g.type === 'lxc' && g.config['hostname'] === 'cloudflared');
  const records = lab.cloudflare.state.records('example.com');
  return { tunnels, lxcs, records };
}

describe('a fault at each step of a full apply', () => {
  for (const c of cases) {
    it(`${c.name}: reported, then a clean re-run converges without duplicates`, { timeout: 180_000 }, async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 50 });
      proxy = await startTcpProxy(lab.host.port);
      // All SSH goes through the proxy so the SSH case can cut it mid-upload.
      const inventory = (await readFile(lab.inventoryFile, 'utf8')).replace(`port: ${lab.host.port}`, `port: ${proxy.port}`);
      await writeFile(lab.inventoryFile, inventory);
      await appendFile(lab.host.knownHostsPath, `[127.0.0.1]:${proxy.port} ${lab.host.hostPublicKey}\n`);
      const foreignBefore = lab.cloudflare.state.records('example.com').map((r) => ({ ...r }));

      c.arm?.(lab);
      const wrap = c.wrap?.(proxy);
      const faulted = await runCli(lab, ['sync', '--yes'], wrap);
      if (c.survives) {
        expect(faulted.code, faulted.stderr).toBe(0);
      } else {
        expect(faulted.code, faulted.stdout + faulted.stderr).toBe(1);
        expect(faulted.stderr).toMatch(/✗ failed|Error:/);
      }
      if (c.wrap) {
        expect(proxy.drops).toBeGreaterThan(0);
        // The connector never holds a half-written config.
        const config = await readFile(join(lab.host.root, CONFIG), 'utf8').catch(() => undefined);
        if (config !== undefined) expect(config).toContain('http_status:404');
      }

      lab.proxmox.faults.clear();
      lab.cloudflare.faults.clear();
      const rerun = await runCli(lab, ['sync', '--yes']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      // A survived fault left nothing to do; otherwise the re-run finished the job and re-read it.
      expect(rerun.stdout).toContain(c.survives ? 'No changes.' : 'Re-read after apply: no changes left.');
      const check = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(check.code, check.stdout).toBe(0);

      const state = await ownState(lab);
      expect(state.tunnels).toHaveLength(1);
      expect(state.lxcs).toHaveLength(1);
      const ours = state.records.filter((r) => r.comment?.startsWith('managed by proxflare'));
      expect(ours.map((r) => r.name).sort()).toEqual([...lab.services, ...lab.hosts].map((s) => s.hostname).sort());
      expect(new Set(ours.map((r) => r.content))).toEqual(new Set([`${state.tunnels[0]!.id}.cfargotunnel.com`]));
      for (const f of foreignBefore) {
        expect(state.records.find((r) => r.id === f.id)).toMatchObject({ name: f.name, content: f.content, comment: f.comment });
      }
      assertNoSecrets(lab, [faulted, rerun, check]);
    });
  }
});

/**
 * Issue #11: the answer to the create is lost (Ctrl-C, client timeout, dropped connection) and the
 * user re-runs. On a real node the CT then sits in create phase 1 (config holding only
 * `lock: create`, no tag, no hostname; README-pve §4.14) for as long as the template takes to
 * unpack. Whenever the re-run starts, it must end with exactly one connector. The moments are
 * driven by the simulator's task hold and request events; the durations run on the real clock.
 */
describe('a re-run at each moment of a create whose answer was lost converges to one connector', () => {
  const connectors = (l: SimulatedHomelab) =>
    [...l.proxmox.state.guests.values()].filter(
      (g) => g.type === 'lxc' && !['jellyfin', 'vaultwarden'].includes(String(g.config.hostname)),
    );
  const createPost = { method: 'POST', path: '/nodes/pve/lxc' };

  async function rerunConverges(l: SimulatedHomelab, rerun: Promise<CliRun> | CliRun, faulted: CliRun): Promise<void> {
    const again = await rerun;
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Re-read after apply: no changes left.');
    const check = await runCli(l, ['sync', '--dry-run', '--detailed-exitcode']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const cts = connectors(l);
    expect(cts.map((g) => g.config.hostname)).toEqual(['cloudflared']);
    expect(cts[0]!.config.lock).toBeUndefined();
    // Exactly one create ever ran on the node (the lost one, or the re-run's when the first never arrived).
    expect([...l.proxmox.state.tasks.values()].filter((t) => t.type === 'vzcreate')).toHaveLength(1);
    assertNoSecrets(l, [faulted, again, check]);
  }

  it('before the create reached the node (nothing was created): the re-run creates it', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 50 });
    lab.proxmox.faults.dropNext(createPost, 'before');
    const faulted = await runCli(lab, ['sync', '--yes']);
    expect(faulted.code).toBe(1);
    expect(connectors(lab)).toEqual([]);
    await rerunConverges(lab, runCli(lab, ['sync', '--yes']), faulted);
  });

  it(
    'during the task (CT still lock-only): the re-run waits for our task instead of creating a second CT',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 50 });
      const hold = lab.proxmox.faults.holdNextTask('vzcreate');
      lab.proxmox.faults.dropNext(createPost, 'after');
      const faulted = await runCli(lab, ['sync', '--yes']);
      expect(faulted.code).toBe(1);
      const upid = await hold.started;
      expect(connectors(lab).map((g) => g.config)).toEqual([{ lock: 'create' }]);
      const tasks = (e: { method: string; path: string }) => e.method === 'GET' && e.path === '/nodes/pve/tasks';
      const found = lab.proxmox.nextRequest(tasks);
      const rerun = runCli(lab, ['sync', '--yes']);
      const finishedFirst = rerun.then((r) => {
        throw new Error(`the re-run ended without waiting for the running create:\n${r.stdout}${r.stderr}`);
      });
      await Promise.race([found, finishedFirst]); // the re-run found the lock-only CT and asked whose create it is
      await Promise.race([lab.proxmox.nextRequest(tasks), finishedFirst]); // and is now waiting on the task
      finishedFirst.catch(() => undefined);
      hold.release();
      await rerunConverges(lab, rerun, faulted);
      expect(lab.proxmox.state.tasks.get(upid)!.exitstatus).toBe('OK');
    },
  );

  it('after the task ended: the re-run finds the finished CT and starts it', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 50 });
    const hold = lab.proxmox.faults.holdNextTask('vzcreate');
    lab.proxmox.faults.dropNext(createPost, 'after');
    const faulted = await runCli(lab, ['sync', '--yes']);
    expect(faulted.code).toBe(1);
    const upid = await hold.started;
    const ended = new Promise<void>((resolve) => lab!.proxmox.events.on('task-end', (t: { upid: string }) => t.upid === upid && resolve()));
    hold.release();
    await ended;
    await rerunConverges(lab, runCli(lab, ['sync', '--yes']), faulted);
  });

  for (const ms of [0, 50, 500, 5000]) {
    it(`create task taking ${ms} ms, re-run right after the lost answer`, { timeout: 120_000 }, async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 50, proxmox: { taskDurations: { vzcreate: ms } } });
      lab.proxmox.faults.dropNext(createPost, 'after');
      const faulted = await runCli(lab, ['sync', '--yes']);
      expect(faulted.code).toBe(1);
      await rerunConverges(lab, runCli(lab, ['sync', '--yes']), faulted);
    });
  }
});
