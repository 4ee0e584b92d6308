import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 14: the connector's SSH read does not wait for the guest discovery. The Proxmox
 * simulator holds the first guest's discovery until proxflare has opened its SSH connection:
 * a read that connected only after discovery would never be let through (the hold gives up
 * after 20 s, and the test then fails on `connectedFirst`). The order is decided by events,
 * not by timing.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe('reading the actual state', () => {
  it('opens the SSH connection to the connector while the guests are still being discovered', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ guests: 3, taskDurationMs: 20 });
    const first = await runCli(lab, ['sync', '--yes']);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    let connected!: () => void;
    const connecting = new Promise<void>((resolve) => (connected = resolve));
    let connectedFirst = false;
    let discoveryHeld = false;
    lab.proxmox.faults.interceptNext({ method: 'GET', path: /^\/nodes\/[\w-]+\/lxc\/1000\/interfaces$/ }, async () => {
      discoveryHeld = true;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 20_000)));
      connectedFirst = await Promise.race([connecting.then(() => true), gaveUp]);
      clearTimeout(timer);
    });
    const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'], (ports) => ({
      ...ports,
      connect: (target) => {
        connected();
        return ports.connect(target);
      },
    }));
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(discoveryHeld).toBe(true);
    expect(connectedFirst).toBe(true);
  });
});
