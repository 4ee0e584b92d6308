import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimGuestSeed } from '../../../src/sim/proxmox/seed.js';
import { baseSeed, connectorSpec, guest, type Harness, startHarness } from './helpers.js';

const N = 20;
const seeds: SimGuestSeed[] = Array.from({ length: N }, (_, i) =>
  i % 2 === 0
    ? {
        type: 'lxc',
        vmid: 1000 + i,
        node: 'pve',
        name: `ct${i}`,
        status: 'running',
        interfaces: [{ name: 'eth0', ipv4: `192.168.2.${i + 1}/24` }],
      }
    : {
        type: 'qemu',
        vmid: 1000 + i,
        node: 'pve',
        name: `vm${i}`,
        status: 'running',
        agent: 'running',
        interfaces: [{ name: 'ens18', ipv4: `192.168.2.${i + 1}/24` }],
      },
);

let h: Harness;
beforeAll(async () => {
  // Latency makes requests overlap, so the in-flight count shows the real limit.
  h = await startHarness(baseSeed(seeds), { latencyMs: 150 }, { concurrency: 4 });
});
afterAll(async () => h.close());

describe('bounded concurrency', () => {
  it(`discovers ${N} guests in parallel, never more than the limit in flight`, async () => {
    const specs = seeds.map((s) => guest(s.name, s.type === 'qemu' ? 'vm' : 'lxc', s.vmid));
    const state = await h.adapter.readState(connectorSpec(), specs);
    expect([...state.guestIps.values()].every((g) => g.ok)).toBe(true);
    expect(state.guestIps.get('ct4')).toEqual({ ok: true, ip: '192.168.2.5', source: 'interfaces' });
    expect(state.guestIps.get('vm5')).toEqual({ ok: true, ip: '192.168.2.6', source: 'agent' });
    const perGuest = h.sim.requests.filter((r) => /\/(interfaces|network-get-interfaces)$/.test(r.path));
    expect(perGuest).toHaveLength(N);
    // From the simulator's log, not from timing: how many requests it was serving at once.
    expect(h.sim.maxInFlight()).toBeLessThanOrEqual(4);
    expect(h.sim.maxInFlight((r) => perGuest.includes(r))).toBeGreaterThanOrEqual(2);
    // One listing for all guests: no per-guest status/config calls when the agent/interfaces answer.
    expect(h.sim.requests.filter((r) => r.path === '/cluster/resources')).toHaveLength(1);
    expect(h.sim.requests.filter((r) => /\/(config|status\/current)$/.test(r.path))).toHaveLength(0);
  });
});
