import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import { ownerComment, tunnelTarget } from '../../../src/plan/plan-dns.js';
import { PERMISSIONS } from '../../../src/sim/cloudflare/sim-state.js';
import { startCloudflareSim, type CloudflareSim } from '../../../src/sim/cloudflare/start-cloudflare-sim.js';
import { adapterFor, applySync, planSync } from './support.js';

const ZONE = 'example.com';
const TUNNEL = 'homelab';

let sim: CloudflareSim | undefined;
afterEach(async () => {
  expect(sim?.validationFailures ?? []).toEqual([]);
  await sim?.close();
  sim = undefined;
});

async function caught(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('reading', () => {
  it('lists a zone of 5,100 records completely in pages + 1 requests', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    for (let i = 0; i < 5100; i++) sim.state.seedRecord(ZONE, { name: `h${i}.example.com`, type: 'A', content: '192.0.2.1' });
    const cf = adapterFor(sim, [ZONE]);
    const zone = await cf.listZoneRecords(ZONE);
    expect(zone.records).toHaveLength(5100);
    expect(new Set(zone.records.map((r) => r.id)).size).toBe(5100);
    const listing = sim.requests.filter((r) => r.operationId === 'dns-records-for-a-zone-list-dns-records');
    expect(listing.map((r) => new URLSearchParams(r.query).get('page') ?? '1')).toEqual(['1', '2', '3']);
    expect(sim.requests.filter((r) => r.operationId === 'zones-get')).toHaveLength(1);

    await cf.listZoneRecords(ZONE);
    // The zone id is cached per adapter.
    expect(sim.requests.filter((r) => r.operationId === 'zones-get')).toHaveLength(1);
  });

  it('fails instead of returning a partial listing when a page keeps failing', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    for (let i = 0; i < 5001; i++) sim.state.seedRecord(ZONE, { name: `h${i}.example.com`, type: 'A', content: '192.0.2.1' });
    const cf = adapterFor(sim, [ZONE], { maxRetries: 1 });
    sim.faults.serverError(5, { path: '/dns_records', query: 'page=2' });
    const err = await caught(cf.listZoneRecords(ZONE));
    expect(err.message).toContain('list DNS records of zone example.com (stopped after 5000 records, at page 2)');
    expect(err.message).toContain('HTTP 500');
    expect(sim.requests.map((r) => r.status)).toEqual([200, 200, 500, 500]);
  });

  it('survives a 429 storm, waiting as long as Retry-After says', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const cf = adapterFor(sim, [ZONE]);
    sim.faults.rateLimit(2, { path: '/dns_records', retryAfter: 1 });
    const zone = await cf.listZoneRecords(ZONE);
    expect(zone.records).toEqual([]);
    const listing = sim.requests.filter((r) => r.path.endsWith('/dns_records'));
    // An empty first page ends the listing.
    expect(listing.map((r) => r.status)).toEqual([429, 429, 200]);
    // Server-side arrival times: each retry came no earlier than Retry-After allowed.
    expect(listing[1]!.at - listing[0]!.at).toBeGreaterThanOrEqual(950);
    expect(listing[2]!.at - listing[1]!.at).toBeGreaterThanOrEqual(950);
    expect(cf.stats.rateLimitWaitSeconds).toBe(2);
  });

  it('gives up at once when Retry-After exceeds the wait budget', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const cf = adapterFor(sim, [ZONE], { maxRateLimitWaitSeconds: 10 });
    sim.faults.rateLimit(1, { path: '/zones', retryAfter: 300 });
    const err = await caught(cf.listZoneRecords(ZONE));
    expect(err.status).toBe(429);
    expect(err.message).toContain('look up zone example.com');
    expect(err.message).toContain('rate limited');
    expect(sim.requests).toHaveLength(1);
  });

  it('retries a dropped connection', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const cf = adapterFor(sim, [ZONE]);
    sim.faults.dropConnection(1, { path: '/cfd_tunnel' });
    expect(await cf.findTunnel(sim.accountId, TUNNEL)).toBeUndefined();
    expect(sim.requests.map((r) => r.status)).toEqual([-1, 200]);
  });
});

describe('tunnel', () => {
  it('sends a create that hits a duplicate name exactly once and names the tunnel', async () => {
    sim = await startCloudflareSim();
    sim.state.seedTunnel(sim.accountId, TUNNEL);
    const cf = adapterFor(sim, [ZONE]);
    const err = await caught(cf.createTunnel(sim.accountId, TUNNEL));
    expect(err.status).toBe(409);
    expect(err.message).toContain(`a tunnel named ${TUNNEL} already exists`);
    expect(err.message).toContain('1013');
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('ignores deleted tunnels when finding and creating by name', async () => {
    sim = await startCloudflareSim();
    sim.state.seedTunnel(sim.accountId, TUNNEL, { deleted: true });
    const cf = adapterFor(sim, [ZONE]);
    expect(await cf.findTunnel(sim.accountId, TUNNEL)).toBeUndefined();
    const { tunnel } = await cf.createTunnel(sim.accountId, TUNNEL);
    expect((await cf.findTunnel(sim.accountId, TUNNEL))!.id).toBe(tunnel.id);
  });

  it('recovers lost credentials from the tunnel token instead of creating a duplicate', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const first = adapterFor(sim, [ZONE]);
    const { credentials } = await applySync(
      first,
      sim.accountId,
      await planSync(first, sim.accountId, { tunnelName: TUNNEL, hostnames: [], zones: [ZONE] }),
    );

    // A later run on a rebuilt connector: the credentials file is gone.
    const second = adapterFor(sim, [ZONE]);
    const plan = await planSync(second, sim.accountId, { tunnelName: TUNNEL, hostnames: [], zones: [ZONE] });
    expect(plan.tunnel.action).toBe('noop');
    const recovered = await second.recoverCredentials(sim.accountId, plan.tunnel.after.id);
    expect(recovered.tunnelId).toBe(credentials!.tunnelId);
    expect(recovered.accountTag).toBe(sim.accountId);
    expect(recovered.tunnelSecret.equals(credentials!.tunnelSecret)).toBe(true);
    expect(String(recovered.tunnelSecret)).toBe('(sensitive)');
    expect(sim.state.tunnels.size).toBe(1);
  });

  it('reports health from the tunnel status and connectors from the connections endpoint', async () => {
    sim = await startCloudflareSim();
    const t = sim.state.seedTunnel(sim.accountId, TUNNEL);
    const cf = adapterFor(sim, [ZONE]);
    expect(await cf.findTunnel(sim.accountId, TUNNEL)).toMatchObject({ id: t.id, status: 'inactive' });
    expect(await cf.listConnectors(sim.accountId, t.id)).toEqual([]);
    const connectorId = sim.state.setTunnelConnections(t.id, 4, { version: '2026.8.2' });
    expect(await cf.findTunnel(sim.accountId, TUNNEL)).toMatchObject({ status: 'healthy' });
    expect(await cf.listConnectors(sim.accountId, t.id)).toEqual([
      { id: connectorId, version: '2026.8.2', runAt: expect.any(String), connections: 4, colos: ['fra01', 'ams01', 'fra08', 'ams08'] },
    ]);
    sim.state.setTunnelConnections(t.id, 0);
    expect(await cf.findTunnel(sim.accountId, TUNNEL)).toMatchObject({ status: 'down' });
    expect(await cf.listConnectors(sim.accountId, t.id)).toEqual([]);
  });
});

describe('token permissions', () => {
  const token = 'limited-token-value-9f8e7d';

  async function limited(permissions: string[]): Promise<CloudflareSim> {
    return startCloudflareSim({ zones: [{ name: ZONE }], tokens: [{ token, permissions }] });
  }

  function expectNoToken(err: ProviderError): void {
    const everything = [err.message, err.hint ?? '', err.detail, String(err.cause), JSON.stringify(err)].join('\n');
    expect(everything).not.toContain(token);
  }

  it('400 6003/6111: says the token is malformed, not that it lacks a permission', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const malformed = `${token} `;
    const err = await caught(adapterFor(sim, [ZONE], { token: `"${malformed}"` }).listZoneRecords(ZONE));
    expect(err.status).toBe(400);
    expect(err.message).toContain('the API token is malformed (copy it again)');
    expect(err.message).toContain('6003');
    expect(err.message).not.toMatch(/lacks|not accepted/);
    expectNoToken(err);
  });

  it('401: says the token was not accepted', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const err = await caught(adapterFor(sim, [ZONE], { token }).listZoneRecords(ZONE));
    expect(err.status).toBe(401);
    expect(err.message).toContain('the API token was not accepted');
    expect(err.message).toContain('Zone: Zone Read');
    expectNoToken(err);
  });

  it('403 on the tunnel lookup names Account: Cloudflare Tunnel Edit', async () => {
    sim = await limited([PERMISSIONS.dnsEdit, PERMISSIONS.zoneRead]);
    const err = await caught(adapterFor(sim, [ZONE], { token }).findTunnel(sim.accountId, TUNNEL));
    expect(err.status).toBe(403);
    expect(err.message).toContain('look up tunnel homelab');
    expect(err.message).toContain('"Account: Cloudflare Tunnel Edit"');
    expectNoToken(err);
  });

  it('403 on the zone lookup names Zone: Zone Read', async () => {
    sim = await limited([PERMISSIONS.dnsEdit, PERMISSIONS.tunnelEdit]);
    const err = await caught(adapterFor(sim, [ZONE], { token }).listZoneRecords(ZONE));
    expect(err.message).toContain('look up zone example.com');
    expect(err.message).toContain('"Zone: Zone Read" permission for zone example.com');
    expectNoToken(err);
  });

  it('403 on a DNS write names Zone: DNS Edit and the zone', async () => {
    sim = await limited([PERMISSIONS.dnsRead, PERMISSIONS.zoneRead, PERMISSIONS.tunnelEdit]);
    const cf = adapterFor(sim, [ZONE], { token });
    const plan = await planSync(cf, sim.accountId, { tunnelName: TUNNEL, hostnames: ['a.example.com'], zones: [ZONE] });
    const err = await caught(applySync(cf, sim.accountId, plan));
    expect(err.message).toContain('apply DNS changes in zone example.com');
    expect(err.message).toContain('"Zone: DNS Edit" permission for zone example.com');
    expectNoToken(err);
  });
});

describe('DNS apply', () => {
  it('batches 450 creates into 3 requests of at most 200 operations', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const cf = adapterFor(sim, [ZONE]);
    const hostnames = Array.from({ length: 450 }, (_, i) => `svc${i}.example.com`);
    const plan = await planSync(cf, sim.accountId, { tunnelName: TUNNEL, hostnames, zones: [ZONE] });
    await applySync(cf, sim.accountId, plan);
    const batches = sim.requests.filter((r) => r.operationId === 'x-derived-dns-records-batch');
    expect(batches.map((b) => (b.body as { posts: unknown[] }).posts.length)).toEqual([200, 200, 50]);
    expect(sim.state.records(ZONE)).toHaveLength(450);
  });

  it('falls back to single calls when the batch endpoint is missing', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }], batch: false });
    const cf = adapterFor(sim, [ZONE]);
    const input = { tunnelName: TUNNEL, hostnames: ['a.example.com', 'b.example.com'], zones: [ZONE] };
    const { tunnelId } = await applySync(cf, sim.accountId, await planSync(cf, sim.accountId, input));
    sim.state.records(ZONE).find((r) => r.name === 'a.example.com')!.content = 'old.cfargotunnel.com';
    const plan = await planSync(cf, sim.accountId, { ...input, hostnames: ['a.example.com', 'c.example.com'] });
    await applySync(cf, sim.accountId, plan);
    const writes = sim.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.status}`);
    // One failed batch attempt per adapter, then single calls; in apply order: the delete, then the update and the create.
    expect(writes).toEqual(['POST 200', 'POST 404', 'POST 200', 'POST 200', 'DELETE 200', 'PUT 200', 'POST 200']);
    expect(sim.state.records(ZONE).map((r) => [r.name, r.content])).toEqual([
      ['a.example.com', tunnelTarget(tunnelId)],
      ['c.example.com', tunnelTarget(tunnelId)],
    ]);
  });

  it('a failing batch changes nothing and the error names zone, records and progress', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const cf = adapterFor(sim, [ZONE]);
    const plan = await planSync(cf, sim.accountId, { tunnelName: TUNNEL, hostnames: ['a.example.com', 'b.example.com'], zones: [ZONE] });
    // Someone creates a record between plan and apply.
    sim.state.seedRecord(ZONE, { name: 'b.example.com', type: 'A', content: '192.0.2.9' });
    const err = await caught(applySync(cf, sim.accountId, plan));
    expect(err.message).toContain('apply DNS changes in zone example.com');
    expect(err.message).toContain('81053');
    expect(err.message).toContain('post a.example.com, post b.example.com');
    expect(err.message).toContain('0 of 2 changes were applied');
    expect(sim.state.records(ZONE).map((r) => r.name)).toEqual(['b.example.com']);
  });

  it('writes the ownership comment the Free plan accepts for a long tunnel name', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const name = `t${'x'.repeat(120)}`;
    const cf = adapterFor(sim, [ZONE]);
    await applySync(
      cf,
      sim.accountId,
      await planSync(cf, sim.accountId, { tunnelName: name, hostnames: ['a.example.com'], zones: [ZONE] }),
    );
    expect(sim.state.records(ZONE)[0]!.comment).toBe(ownerComment(name));
    expect(ownerComment(name)).toHaveLength(100);
    const again = await planSync(cf, sim.accountId, { tunnelName: name, hostnames: ['a.example.com'], zones: [ZONE] });
    expect(again.dns.changes.map((c) => c.action)).toEqual(['noop']);
  });
});
