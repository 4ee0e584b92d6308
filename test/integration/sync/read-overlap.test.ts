import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
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

/** Holds the discovery of guest 1000 until `happened` resolves; says whether it did. */
function holdDiscoveryUntil(homelab: SimulatedHomelab, happened: Promise<void>): { held: () => boolean; happenedFirst: () => boolean } {
  let held = false;
  let happenedFirst = false;
  homelab.proxmox.faults.interceptNext({ method: 'GET', path: /^\/nodes\/[\w-]+\/lxc\/1000\/interfaces$/ }, async () => {
    held = true;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 20_000)));
    happenedFirst = await Promise.race([happened.then(() => true), gaveUp]);
    clearTimeout(timer);
  });
  return { held: () => held, happenedFirst: () => happenedFirst };
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

describe('reading the actual state', () => {
  it('opens the SSH connection to the connector while the guests are still being discovered', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ guests: 3, taskDurationMs: 20 });
    const first = await runCli(lab, ['sync', '--yes']);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    const connected = signal();
    const hold = holdDiscoveryUntil(lab, connected.promise);
    const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'], (ports) => ({
      ...ports,
      connect: (target) => {
        connected.fire();
        return ports.connect(target);
      },
    }));
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(hold.held()).toBe(true);
    expect(hold.happenedFirst()).toBe(true);
  });

  it('recovers the tunnel credentials while the guests are still being discovered', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ guests: 3, taskDurationMs: 20 });
    const first = await runCli(lab, ['sync', '--yes']);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    const recovered = signal();
    const hold = holdDiscoveryUntil(lab, recovered.promise);
    const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'], (ports) => ({
      ...ports,
      // The adapter's methods use private fields: each runs on the adapter itself.
      cloudflare: new Proxy(ports.cloudflare, {
        get: (adapter, prop) => {
          if (prop !== 'recoverCredentials') return (Reflect.get(adapter, prop) as () => unknown).bind(adapter);
          return async (accountId: string, tunnelId: string) => {
            const credentials = await adapter.recoverCredentials(accountId, tunnelId);
            recovered.fire();
            return credentials;
          };
        },
      }),
    }));
    // Exit 0 with --detailed-exitcode: the credentials file on the connector was checked and is current.
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(hold.held()).toBe(true);
    expect(hold.happenedFirst()).toBe(true);
  });
});
