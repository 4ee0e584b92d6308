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
  { name: 'Proxmox create task fails', arm: (lab) => lab.proxmox.faults.failNextTask('vzcreate', 'unable to create CT - no space left on device') },
  { name: 'Proxmox answers 500 to the create', arm: (lab) => lab.proxmox.faults.failNext({ method: 'POST', path: '/nodes/pve/lxc' }, { status: 500, message: 'got timeout' }) },
  { name: 'Proxmox drops the connection after applying the create', arm: (lab) => lab.proxmox.faults.dropNext({ method: 'POST', path: '/nodes/pve/lxc' }, 'after') },
  { name: 'Proxmox start task fails', arm: (lab) => lab.proxmox.faults.failNextTask('vzstart', 'startup for container failed') },
  { name: 'Cloudflare 5xx storm on tunnel create', arm: (lab) => lab.cloudflare.faults.serverError(10, { method: 'POST', path: /cfd_tunnel$/ }) },
  { name: 'Cloudflare drops the tunnel create', arm: (lab) => lab.cloudflare.faults.dropConnection(5, { method: 'POST', path: /cfd_tunnel$/ }) },
  { name: 'Cloudflare 429 storm on DNS', arm: (lab) => lab.cloudflare.faults.rateLimit(3, { path: 'dns_records', method: 'POST', retryAfter: 1 }), survives: true },
  { name: 'Cloudflare 5xx storm on DNS', arm: (lab) => lab.cloudflare.faults.serverError(10, { path: 'dns_records', method: 'POST' }) },
  { name: 'Cloudflare drops DNS connections', arm: (lab) => lab.cloudflare.faults.dropConnection(10, { path: 'dns_records', method: 'POST' }) },
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
