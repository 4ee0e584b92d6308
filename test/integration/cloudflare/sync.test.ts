import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownerComment, tunnelTarget } from '../../../src/plan/plan-dns.js';
import { startCloudflareSim, type CloudflareSim } from '../../../src/sim/cloudflare/start-cloudflare-sim.js';
import { actions, adapterFor, applySync, planSync } from './support.js';

const ZONE = 'example.com';
const TUNNEL = 'homelab';

describe('Cloudflare sync against the simulator', () => {
  let sim: CloudflareSim;
  beforeEach(async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }, { name: 'example.org' }] });
  });
  afterEach(async () => {
    expect(sim.validationFailures).toEqual([]);
    await sim.close();
  });

  it('creates the tunnel and proxied CNAMEs on a fresh zone, then plans only no-ops', async () => {
    const input = {
      tunnelName: TUNNEL,
      hostnames: ['media.example.com', 'cloud.example.com', 'wiki.example.org'],
      zones: [ZONE, 'example.org'],
    };
    const cf = adapterFor(sim, input.zones);
    const plan = await planSync(cf, sim.accountId, input);
    expect(plan.tunnel.action).toBe('create');
    expect(actions(plan)).toEqual(['create dns/cloud.example.com', 'create dns/media.example.com', 'create dns/wiki.example.org']);
    expect(plan.dns.conflicts).toEqual([]);

    const { tunnelId, credentials } = await applySync(cf, sim.accountId, plan);
    const tunnels = [...sim.state.tunnels.values()];
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]!.id).toBe(tunnelId);
    expect(credentials!.tunnelSecret.reveal()).toBe(tunnels[0]!.secret);
    expect(Buffer.from(tunnels[0]!.secret, 'base64')).toHaveLength(32);
    expect(tunnels[0]!.configSrc).toBe('local');

    const records = sim.state.records(ZONE);
    expect(records.map((r) => r.name).sort()).toEqual(['cloud.example.com', 'media.example.com']);
    for (const r of [...records, ...sim.state.records('example.org')]) {
      expect(r).toMatchObject({ type: 'CNAME', content: tunnelTarget(tunnelId), proxied: true, ttl: 1, comment: ownerComment(TUNNEL) });
    }

    const before = sim.requests.length;
    const again = await planSync(adapterFor(sim, input.zones), sim.accountId, input);
    expect(again.tunnel.action).toBe('noop');
    expect(again.dns.changes.every((c) => c.action === 'noop')).toBe(true);
    expect(again.dns.changes).toHaveLength(3);
    // tunnel lookup + per zone: zone lookup + one page + the empty page that ends pagination.
    expect(sim.requests.length - before).toBe(1 + 2 * 3);
  });

  it('deletes only our record when a hostname leaves the inventory', async () => {
    const cf = adapterFor(sim, [ZONE]);
    const input = { tunnelName: TUNNEL, hostnames: ['a.example.com', 'b.example.com'], zones: [ZONE] };
    const { tunnelId } = await applySync(cf, sim.accountId, await planSync(cf, sim.accountId, input));
    sim.state.seedRecord(ZONE, { name: 'mail.example.com', type: 'A', content: '192.0.2.10' });
    sim.state.seedRecord(ZONE, { name: 'old.example.com', content: tunnelTarget(tunnelId), proxied: true, comment: 'hand-made' });
    sim.state.seedRecord(ZONE, {
      name: 'other.example.com',
      content: 'x.cfargotunnel.com',
      proxied: true,
      comment: ownerComment('homelab2'),
    });

    const plan = await planSync(cf, sim.accountId, { ...input, hostnames: ['a.example.com'] });
    expect(actions(plan)).toEqual(['noop dns/a.example.com', 'delete dns/b.example.com']);
    expect(plan.dns.changes[1]!.reason).toBe('not in inventory');
    expect(plan.dns.warnings.join('\n')).toContain('dns/old.example.com');
    await applySync(cf, sim.accountId, plan);
    expect(
      sim.state
        .records(ZONE)
        .map((r) => r.name)
        .sort(),
    ).toEqual(['a.example.com', 'mail.example.com', 'old.example.com', 'other.example.com']);
  });

  it('leaves a foreign record alone and reports a conflict naming it and --adopt; adopt takes it over', async () => {
    const foreign = sim.state.seedRecord(ZONE, { name: 'media.example.com', type: 'A', content: '192.0.2.7' });
    const aaaa = sim.state.seedRecord(ZONE, { name: 'media.example.com', type: 'AAAA', content: '2001:db8::7' });
    const cf = adapterFor(sim, [ZONE]);
    const input = { tunnelName: TUNNEL, hostnames: ['media.example.com', 'new.example.com'], zones: [ZONE] };
    const plan = await planSync(cf, sim.accountId, input);
    expect(actions(plan)).toEqual(['create dns/new.example.com']);
    expect(plan.dns.conflicts).toHaveLength(2);
    expect(plan.dns.conflicts[0]!.message).toContain(`A media.example.com → 192.0.2.7 (id ${foreign.id}`);
    expect(plan.dns.conflicts[0]!.hint).toContain('--adopt');
    await applySync(cf, sim.accountId, plan);
    expect(sim.state.zoneByName(ZONE)!.records.get(foreign.id)).toMatchObject({ type: 'A', content: '192.0.2.7', comment: null });

    const adopted = await planSync(cf, sim.accountId, { ...input, adopt: true });
    expect(actions(adopted)).toEqual(['delete dns/media.example.com', 'update dns/media.example.com', 'noop dns/new.example.com']);
    expect(adopted.dns.conflicts).toEqual([]);
    const { tunnelId } = await applySync(cf, sim.accountId, adopted);
    expect(sim.state.zoneByName(ZONE)!.records.has(aaaa.id)).toBe(false);
    expect(sim.state.zoneByName(ZONE)!.records.get(foreign.id)).toMatchObject({
      type: 'CNAME',
      content: tunnelTarget(tunnelId),
      proxied: true,
      comment: ownerComment(TUNNEL),
    });
    const after = await planSync(cf, sim.accountId, input);
    expect(after.dns.changes.every((c) => c.action === 'noop')).toBe(true);
  });

  it('points our records at the tunnel again when they drifted', async () => {
    const cf = adapterFor(sim, [ZONE]);
    const input = { tunnelName: TUNNEL, hostnames: ['a.example.com'], zones: [ZONE] };
    const { tunnelId } = await applySync(cf, sim.accountId, await planSync(cf, sim.accountId, input));
    const record = sim.state.records(ZONE)[0]!;
    record.content = 'old.cfargotunnel.com';
    record.proxied = false;
    record.ttl = 300;
    const plan = await planSync(cf, sim.accountId, input);
    expect(plan.dns.changes[0]).toMatchObject({ action: 'update', reason: 'points to old.cfargotunnel.com, not proxied, ttl 300 → auto' });
    await applySync(cf, sim.accountId, plan);
    expect(sim.state.records(ZONE)[0]).toMatchObject({ id: record.id, content: tunnelTarget(tunnelId), proxied: true, ttl: 1 });
  });
});
