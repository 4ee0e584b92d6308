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

describe('proxflare demo', () => {
  it('shows plan → apply → "No changes", the plan of an added service, and every route healthy; then cleans up', { timeout: 180_000 }, async () => {
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
    const code = await main(['node', 'proxflare', 'demo'], io);
    expect(code, out).toBe(0);
    expect(out).toMatch(/Plan: 14 to add, 0 to change, 0 to destroy\./);
    // One hostname is protected by Cloudflare Access: policy + app planned, shown in the Exposure section and in status.
    expect(out).toContain('vault.example.com (new) → PROTECTED (admins)');
    expect(out).toMatch(/vault\.example\.com .*PROTECTED \(admins\)\n/);
    // The NAS is a `hosts:` entry: published by address, its origin served on a loopback alias.
    expect(out).toContain('nas.example.com → http://127.0.20.1:5000  (host nas)');
    expect(out).toMatch(/\$ proxflare graph --format text[\s\S]*  nas\.example\.com  +PUBLIC +→ http:\/\/127\.0\.20\.1:5000 +nas \(host\)/);
    expect(out).toContain('Re-read after apply: no changes left.');
    expect(out).toContain('No changes. The homelab matches the inventory.');
    expect(out).toMatch(/# dns\/requests\.example\.com will be created[\s\S]*Plan: 1 to add, 2 to change, 0 to destroy\./);
    expect(out).toMatch(/tunnel\/homelab: healthy, 4 connections/);
    // Per connector, from the connections endpoint: id, cloudflared version, connection count.
    expect(out).toMatch(/ {2}connector [0-9a-f-]{36}: cloudflared 2026\.8\.2, 4 connections \(fra01, ams01, fra08, ams08\)/);
    expect(out).toContain('cloudflared.service active');
    expect(out).toContain('6/6 routes healthy.');
    const dir = /inventory {18}(\S+)\/inventory\.yaml/.exec(out)?.[1];
    expect(dir).toBeDefined();
    await expect(access(dir!)).rejects.toThrow();
  });
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
