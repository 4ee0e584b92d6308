import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

const GUESTS = 24;
const discovery = (path: string) => /\/lxc\/\d+\/interfaces$/.test(path);

let lab: SimulatedHomelab;
let original: string;
beforeAll(async () => {
  // Latency keeps each request open long enough that queued ones would overlap if let through.
  lab = await startSimulatedHomelab({ guests: GUESTS, latencyMs: 100 });
  original = await readFile(lab.inventoryFile, 'utf8');
}, 60_000);
afterAll(async () => lab?.close());

async function planWith(concurrency: number | undefined) {
  const text = concurrency === undefined ? original : original.replace(/^  node: pve$/m, `  node: pve\n  concurrency: ${concurrency}`);
  if (concurrency !== undefined) expect(text).toContain(`concurrency: ${concurrency}`);
  await writeFile(lab.inventoryFile, text);
  lab.proxmox.resetRequests();
  const run = await runCli(lab, ['sync', '--dry-run']);
  expect(run.code, run.stderr).toBe(0);
  const perGuest = lab.proxmox.requests.filter((r) => discovery(r.path));
  expect(perGuest).toHaveLength(GUESTS);
  // Counted by the simulator as requests arrive, not inferred from timing.
  return { max: lab.proxmox.maxInFlight(), maxDiscovery: lab.proxmox.maxInFlight((r) => discovery(r.path)) };
}

describe('proxmox.concurrency', () => {
  it('bounds the Proxmox requests in flight at the simulator to the inventory value', { timeout: 60_000 }, async () => {
    for (const limit of [1, 3]) {
      const seen = await planWith(limit);
      expect(seen.max, `concurrency ${limit}`).toBeLessThanOrEqual(limit);
      expect(seen.maxDiscovery).toBeGreaterThanOrEqual(limit === 1 ? 1 : 2);
    }
  });

  it('defaults to 8 in flight', { timeout: 60_000 }, async () => {
    const seen = await planWith(undefined);
    expect(seen.max).toBeLessThanOrEqual(8);
    expect(seen.maxDiscovery).toBeGreaterThan(1);
  });

  it('is checked: 1 to 32', async () => {
    await writeFile(lab.inventoryFile, original.replace(/^  node: pve$/m, '  node: pve\n  concurrency: 64'));
    const run = await runCli(lab, ['validate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/inventory\.yaml:\d+:\d+ proxmox\.concurrency:/);
  });
});
