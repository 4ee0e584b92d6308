/**
 * `proxflare sync` as a user runs it, in a child process: it must end on its own once its work
 * is done. The binary only force-exits 2 s after the work ended, and under DEBUG=proxflare it
 * says what was still open then, so a leaked socket, connection or timer fails these tests.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatedHomelab, type SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

const BIN = new URL('../../../bin/proxflare.js', import.meta.url).pathname;

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

async function child(lab: SimulatedHomelab, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [BIN, '-i', lab.inventoryFile, '--no-color', ...args], {
    cwd: lab.dir,
    env: { PATH: process.env.PATH, HOME: lab.dir, ...lab.env, DEBUG: 'proxflare' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(proc, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('proxflare sync in a child process', () => {
  it('a dry run that read Proxmox, Cloudflare and the connector over SSH exits with nothing left open', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 50 });
    const applied = await runCli(lab, ['sync', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    // The child has no sandbox: it reads the connector's managed paths read-only and changes nothing.
    const run = await child(lab, ['sync', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    // The connector was read over SSH (nothing on it is "known after apply").
    expect(run.stdout).toContain('Routes (ingress order):');
    expect(run.stdout).not.toContain('connector not reachable yet');
    expect(run.stderr).not.toContain('still open');
  });

  it('an apply that fails exits 1 with its report, with nothing left open', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 50 });
    lab.proxmox.faults.failNextTask('vzcreate', 'unable to create CT - no space left on device');
    const run = await child(lab, ['sync', '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('✗ failed   lxc/cloudflared (create)');
    expect(run.stderr).not.toContain('still open');
  });
});
