import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxmoxSim, type ProxmoxSim } from '../../../src/sim/proxmox/start-proxmox-sim.js';
import { baseSeed, TOKEN_ID, TOKEN_SECRET } from './helpers.js';

let sim: ProxmoxSim;
let dir: string;
let script: string;
const children = new Set<ReturnType<typeof spawn>>();

beforeAll(async () => {
  sim = await startProxmoxSim({ seed: baseSeed() });
  dir = await mkdtemp(join(tmpdir(), 'proxflare-exit-'));
  script = join(dir, 'child.mjs');
  // Bundled so the child runs the real adapter + proxmox-api + undici without a TS loader.
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/exit-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: script,
    logLevel: 'silent',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      env: { PATH: process.env.PATH, SIM_PORT: String(sim.port), FINGERPRINT: sim.fingerprint, TOKEN_ID, TOKEN_SECRET },
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a CLI using the adapter exits on its own after a failed call (pitfall: lingering timer)', () => {
  // The child's request deadline is 10 minutes; a leaked timer would outlive this test's timeout.
  it('after a dropped connection', { timeout: 60_000 }, async () => {
    sim.faults.dropNext({ path: '/cluster/resources' }, 'before', 5);
    sim.faults.dropNext({ path: '/nodes' }, 'before', 5);
    const r = await runChild();
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^FAILED: proxmox: list (guests|nodes)/);
    expect(r.code).toBe(0);
  });

  it('after an HTTP error (401)', { timeout: 60_000 }, async () => {
    sim.faults.clear();
    sim.state.tokens.get(TOKEN_ID)!.secret = '99999999-9999-4999-8999-999999999999';
    const r = await runChild();
    expect(r.stdout).toMatch(/^FAILED: proxmox: .*authentication failed/);
    expect(r.code).toBe(0);
  });
});
