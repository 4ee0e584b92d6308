import { access } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** The demo builds its own simulated homelab, so it gets no ports from the test. */
async function runDemo(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: CliIo = {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    env: { PATH: process.env.PATH },
    cwd: process.cwd(),
    isTTY: false,
    confirm: async () => false,
    createPorts: () => {
      throw new Error('the demo builds its own ports');
    },
  };
  const code = await main(['node', 'proxflare', ...args], io);
  return { code, out };
}

describe('proxflare demo', () => {
  it(
    'shows plan → apply → "No changes", the plan of an added service, and every route healthy; then cleans up',
    { timeout: 180_000 },
    async () => {
      const { code, out } = await runDemo(['demo']);
      expect(code, out).toBe(0);
      expect(out).toMatch(/Plan: 17 to add, 0 to change, 0 to destroy\./);
      // One hostname is protected by Cloudflare Access: policy + app planned, shown in the Exposure section and in status.
      expect(out).toContain('vault.example.com (new) → PROTECTED (admins)');
      expect(out).toMatch(/vault\.example\.com .*PROTECTED \(admins\)\n/);
      // The NAS is a `hosts:` entry: published by address, its origin served on a loopback alias.
      expect(out).toContain('nas.example.com → http://127.0.20.1:5000  (host nas)');
      expect(out).toMatch(
        /\$ proxflare graph --format text[\s\S]*  nas\.example\.com  +PUBLIC +→ http:\/\/127\.0\.20\.1:5000 +nas \(host\)/,
      );
      expect(out).toContain('Re-read after apply: no changes left.');
      expect(out).toContain('No changes. The homelab matches the inventory.');
      expect(out).toMatch(/# dns\/requests\.example\.com will be created[\s\S]*Plan: 1 to add, 2 to change, 0 to destroy\./);
      expect(out).toMatch(/tunnel\/homelab: healthy, 4 connections/);
      // Per connector, from the connections endpoint: id, cloudflared version, connection count.
      // The version the stand-in cloudflared reported when it registered with the simulated edge.
      expect(out).toMatch(/ {2}connector [0-9a-f-]{36}: cloudflared 2026\.8\.2-standin, 4 connections \(fra01, ams01, fra08, ams08\)/);
      expect(out).toContain('cloudflared.service active');
      expect(out).toContain('6/6 routes healthy.');
      // At the end every route answers through the simulated edge: the origin's 200, Access's login redirect for the vault.
      expect(out).toMatch(/https:\/\/media\.example\.com\/ +200 +ok/);
      expect(out).toMatch(/https:\/\/vault\.example\.com\/ +302 +ok +redirect to homelab\.cloudflareaccess\.com \(Access login\)/);
      expect(out).toContain('6/6 public checks ok');
      // doctor, on the synced demo: everything passes, the Zero Trust organization included.
      expect(out).toMatch(/✓ Cloudflare Access \(Zero Trust\): organization found \(homelab\.cloudflareaccess\.com\)/);
      expect(out).toMatch(/All checks passed \(\d+ ok, 0 warnings, 0 skipped\)\./);
      const dir = /inventory {18}(\S+)\/inventory\.yaml/.exec(out)?.[1];
      expect(dir).toBeDefined();
      await expect(access(dir!)).rejects.toThrow();
    },
  );
});

describe('proxflare demo --ha', () => {
  // Same file as the plain demo: both serve the guests' origins on the same loopback addresses, so they must not run at once.
  it(
    'two replicas on two nodes: apply, a rolling change with its gates in order, one killed (degraded, named), watchdog recovery, healthy',
    { timeout: 300_000 },
    async () => {
      const { code, out } = await runDemo(['--no-color', 'demo', '--ha']);
      expect(code, out).toBe(0);
      expect(out).toMatch(/a cluster of pve and pve2/);
      expect(out).toMatch(/✓ lxc\/cloudflared-2: \/ready: 200, 4 edge connections/);
      expect(out).toMatch(/✓ Proxmox nodes: pve, pve2 \(cloudflared-1 on pve, cloudflared-2 on pve2\)/);
      expect(out).toMatch(/All checks passed/);
      expect(out).toContain('+ lxc/cloudflared-2');

      // The roll: cloudflared-1 passes all three gates before cloudflared-2 is touched.
      const roll = out.slice(out.indexOf('# the rolling apply'));
      const order = [
        '… unit:cloudflared-1:cloudflared.service: deploying and restarting cloudflared (health-gated',
        '✓ unit:cloudflared-1:cloudflared.service: restarted; /ready 200',
        '✓ unit:cloudflared-1:cloudflared.service: /config serves the new ingress',
        '✓ tunnel/homelab: connector ',
        '… unit:cloudflared-2:cloudflared.service: deploying and restarting cloudflared (health-gated',
        '✓ unit:cloudflared-2:cloudflared.service: restarted; /ready 200',
        '✓ unit:cloudflared-2:cloudflared.service: /config serves the new ingress',
      ];
      let at = 0;
      for (const line of order) {
        const i = roll.indexOf(line, at);
        expect(i, `${line}\n--- after offset ${at} in ---\n${roll}`).toBeGreaterThan(-1);
        at = i + line.length;
      }

      const degraded = out.slice(out.indexOf('# status: degraded'), out.indexOf('# recovery'));
      expect(degraded).toMatch(/lxc\/cloudflared-2: running .*cloudflared\.service inactive; \/ready no answer/);
      expect(degraded).toMatch(/connectors: degraded \(lxc\/cloudflared-2 not healthy\)/);
      // Every route still answers through the simulated edge, from cloudflared-1.
      expect(degraded).toMatch(/https:\/\/media\.example\.com\/ +200 +ok/);
      expect(degraded).toMatch(/(\d+)\/\1 public checks ok/);
      expect(out).toMatch(/tick 3: watchdog: \/ready did not answer 3 times in a row: restarting cloudflared\.service/);
      const healthy = out.slice(out.indexOf('# status: healthy again'));
      expect(healthy).toMatch(
        /lxc\/cloudflared-2: running .*cloudflared\.service active; \/ready 200, 4 ready connections; connector \S+ seen by Cloudflare/,
      );
      expect(healthy).toMatch(/connectors: healthy/);
      expect(out).toContain('HA demo complete.');
    },
  );
});

describe('two concurrent syncs of the same tunnel', () => {
  it('do not interleave: the second waits, then fails naming the holder, and changes nothing', { timeout: 180_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 3000 });
    const [a, b] = await Promise.all([runCli(lab, ['sync', '--yes']), runCli(lab, ['sync', '--yes'])]);
    const [winner, loser] = a.code === 0 ? [a, b] : [b, a];
    expect(winner.code, winner.stderr).toBe(0);
    expect(loser.code).toBe(1);
    expect(loser.stderr).toMatch(/another proxflare sync of tunnel "homelab" is running: pid \d+ \(.+@.+, since /);
    const tunnels = [...lab.cloudflare.state.tunnels.values()].filter((t) => t.deleted_at === null);
    expect(tunnels).toHaveLength(1);
    expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
  });
});
