import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { Ports } from '../../../src/sync/ports.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 14: the reads that do not need the guests do not wait for their discovery. The Proxmox
 * simulator holds the first guest's discovery until the read under test has happened: a read
 * made only after discovery would never let it through (the hold gives up after 20 s, and the
 * test then fails on `happenedFirst`). The order is decided by events, not by timing.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/**
 * After a first sync, runs a dry run whose ports `wrap` makes call `happened()` at the read
 * under test, with the discovery of guest 1000 held until then; the plan must be "No changes".
 */
async function planWithDiscoveryHeld(wrap: (ports: Ports, happened: () => void) => Ports): Promise<void> {
  lab = await startSimulatedHomelab({ guests: 3, taskDurationMs: 20 });
  const first = await runCli(lab, ['sync', '--yes']);
  expect(first.code, first.stdout + first.stderr).toBe(0);

  let happened!: () => void;
  const happening = new Promise<void>((resolve) => (happened = resolve));
  let held = false;
  let happenedFirst = false;
  lab.proxmox.faults.interceptNext({ method: 'GET', path: /^\/nodes\/[\w-]+\/lxc\/1000\/interfaces$/ }, async () => {
    held = true;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 20_000)));
    happenedFirst = await Promise.race([happening.then(() => true), gaveUp]);
    clearTimeout(timer);
  });
  const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'], (ports) => wrap(ports, happened));
  // Exit 0 with --detailed-exitcode: everything read early was read right (the credentials file is current too).
  expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  expect(held).toBe(true);
  expect(happenedFirst).toBe(true);
}

describe('reading the actual state', () => {
  it('opens the SSH connection to the connector while the guests are still being discovered', { timeout: 120_000 }, async () => {
    await planWithDiscoveryHeld((ports, connected) => ({
      ...ports,
      connect: (target) => {
        connected();
        return ports.connect(target);
      },
    }));
  });

  it('recovers the tunnel credentials while the guests are still being discovered', { timeout: 120_000 }, async () => {
    await planWithDiscoveryHeld((ports, recovered) => ({
      ...ports,
      // The adapter's methods use private fields: each runs on the adapter itself.
      cloudflare: new Proxy(ports.cloudflare, {
        get: (adapter, prop) => {
          if (prop !== 'recoverCredentials') return (Reflect.get(adapter, prop) as () => unknown).bind(adapter);
          return async (accountId: string, tunnelId: string) => {
            const credentials = await adapter.recoverCredentials(accountId, tunnelId);
            recovered();
            return credentials;
          };
        },
      }),
    }));
  });
});
