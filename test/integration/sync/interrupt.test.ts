import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 13, interruptions: a real SIGINT sent to a child `proxflare sync --yes` (the built CLI)
 * at each step of a full apply, the step chosen by the progress line the child prints on stderr
 * (never by a sleep). The child stops at the next safe point, exits 130 and says what is applied
 * and pending; a re-run converges with one tunnel, one connector, no staging file and no lock.
 * Needs `npm run build` (the child runs dist/).
 */
const CHILD = new URL('./fixtures/sync-child.mjs', import.meta.url).pathname;

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

interface ChildRun {
  code: number | null;
  stderr: string;
  stepLines: string[];
}

/**
 * Runs the child; `onLine` sees each stderr line as it arrives and may send signals.
 * The sandbox's stand-in cloudflared registers with the simulated edge itself.
 */
function runChild(lab: SimulatedHomelab, onLine: (line: string, child: ReturnType<typeof spawn>) => void): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, '-i', lab.inventoryFile, '--no-color', 'sync', '--yes'], {
      env: { PATH: process.env.PATH, HOME: lab.dir, ...lab.env, SANDBOX_ROOT: lab.host.root, SANDBOX_BIN: lab.host.binDir },
      cwd: lab.dir,
    });
    let stderr = '';
    let partial = '';
    const stepLines: string[] = [];
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('… ')) stepLines.push(line);
        onLine(line, child);
      }
    });
    child.stdout.resume();
    child.on('exit', (code) => resolve({ code, stderr, stepLines }));
  });
}

async function stagingFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.includes('.proxflare-tmp.')) found.push(join(d, e.name));
    }
  };
  await walk(dir);
  return found;
}

async function assertConvergedAfterRerun(lab: SimulatedHomelab): Promise<void> {
  const rerun = await runCli(lab, ['sync', '--yes']);
  expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
  const check = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
  expect(check.code, check.stdout).toBe(0);
  const tunnels = [...lab.cloudflare.state.tunnels.values()].filter((t) => t.deleted_at === null);
  expect(tunnels).toHaveLength(1);
  const lxcs = [...lab.proxmox.state.guests.values()].filter((g) => g.type === 'lxc' && g.config['hostname'] === 'cloudflared');
  expect(lxcs).toHaveLength(1);
  expect(await stagingFiles(lab.host.root)).toEqual([]);
  expect((await readdir(lab.dir)).filter((f) => f.endsWith('.lock'))).toEqual([]);
}

/** The apply's step lines of an uninterrupted run (the plan's reads come before "✓ plan"). */
async function applySteps(): Promise<string[]> {
  const probe = await startSimulatedHomelab({ taskDurationMs: 20 });
  try {
    let applying = false;
    const steps: string[] = [];
    const run = await runChild(probe, (line) => {
      if (line.startsWith('✓ plan')) applying = true;
      else if (applying && line.startsWith('… ') && !line.startsWith('… sync:')) steps.push(sameInEveryLab(line));
    });
    expect(run.code, run.stderr).toBe(0);
    return steps;
  } finally {
    await probe.close();
  }
}

/** A step line without the lab's temporary directory, so steps of two labs compare equal. */
function sameInEveryLab(line: string): string {
  return line.replace(/proxflare-homelab-[A-Za-z0-9]+/g, 'proxflare-homelab-*');
}

describe('Ctrl-C during an apply', () => {
  it('at each step: stops at the next safe point with exit 130, and a re-run converges', { timeout: 600_000 }, async () => {
    const steps = await applySteps();
    expect(steps.length).toBeGreaterThanOrEqual(5);
    for (const step of steps) {
      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      let sent = false;
      let applying = false;
      const run = await runChild(lab, (line, child) => {
        if (line.startsWith('✓ plan')) applying = true;
        if (applying && !sent && sameInEveryLab(line) === step) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      expect(sent, `${step} never printed:\n${run.stderr}`).toBe(true);
      // Interrupted during the last step, there is nothing left to stop before: the run completes.
      expect([130, 0], `${step}\n${run.stderr}`).toContain(run.code);
      if (run.code === 130) {
        expect(run.stderr).toMatch(/Interrupted \(SIGINT\): stopped between two changes/);
        expect(run.stderr).toMatch(/· pending /);
      }
      expect(run.stderr).not.toContain('Internal error');
      expect(
        (await readdir(lab.dir)).filter((f) => f.endsWith('.lock')),
        'local lock released on exit',
      ).toEqual([]);
      await assertConvergedAfterRerun(lab);
      await lab.close();
      lab = undefined;
    }
  });

  it('a second Ctrl-C aborts at once (exit 130), releases the local lock, and a re-run converges', { timeout: 120_000 }, async () => {
    // The create task runs 3 s, so the step in progress is still running when the second signal
    // follows the first (sent as soon as the child acknowledges the first, not after a sleep).
    lab = await startSimulatedHomelab({ taskDurationMs: 3000 });
    let sent = 0;
    const run = await runChild(lab, (line, child) => {
      if (sent === 0 && line.includes('creating container')) {
        sent = 1;
        child.kill('SIGINT');
      } else if (sent === 1 && line.includes('stopping at the next safe point')) {
        sent = 2;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(2);
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toContain('aborting now');
    expect((await readdir(lab.dir)).filter((f) => f.endsWith('.lock'))).toEqual([]);
    await assertConvergedAfterRerun(lab);
  });

  it('SIGTERM is handled like Ctrl-C', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20 });
    let sent = false;
    const run = await runChild(lab, (line, child) => {
      if (!sent && line.includes('creating container')) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/Interrupted \(SIGTERM\)/);
    await assertConvergedAfterRerun(lab);
  });
});
