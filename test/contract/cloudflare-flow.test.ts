/**
 * Contract tier: the Cloudflare adapter's whole flow, over real sockets, through a proxy that
 * validates every request AND every response against Cloudflare's published OpenAPI subset
 * (test/fixtures/cloudflare/openapi-subset.json, minus the schema defects documented there).
 * The simulator answers; the proxy fails the test on anything the schema does not allow, so a
 * simulator that drifts from the real API is caught here, not only our requests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConnectorRestart } from '../../src/apply/connector-wait.js';
import { createCloudflare } from '../../src/cloudflare/create-cloudflare.js';
import { ProviderError } from '../../src/core/errors.js';
import { silentReporter } from '../../src/core/reporter.js';
import { Secret } from '../../src/core/secret.js';
import { tunnelTarget } from '../../src/plan/plan-dns.js';
import { startCloudflareSim, type CloudflareSim, type CloudflareSimOptions } from '../../src/sim/cloudflare/start-cloudflare-sim.js';
import { actions, applySync, planSync } from '../integration/cloudflare/support.js';
import { checkRequest, startContractProxy, type ContractProxy } from '../support/openapi-contract.js';

const ZONE = 'example.com';
const IDN_ZONE = 'xn--bcher-kva.example';
const TUNNEL = 'homelab';

let sim: CloudflareSim | undefined;
let proxy: ContractProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await sim?.close();
  proxy = undefined;
  sim = undefined;
});

async function contract(options: CloudflareSimOptions = {}) {
  const started = await startCloudflareSim({ zones: [{ name: ZONE }, { name: 'bücher.example' }], ...options });
  const checking = await startContractProxy(started.url);
  sim = started;
  proxy = checking;
  const adapter = (token = started.token) =>
    createCloudflare(
      { apiToken: new Secret(token), accountId: started.accountId, zones: [ZONE, IDN_ZONE], baseUrl: checking.url },
      { maxRetries: 2 },
    );
  return { sim: started, proxy: checking, adapter };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('the adapter against the published schema', () => {
  it('create, no-op, add, update, adopt, delete, mass-delete refusal, lost credentials, status: no request or response breaks the schema', async () => {
    const { sim, proxy, adapter } = await contract();
    const cf = adapter();
    const base = { tunnelName: TUNNEL, zones: [ZONE, IDN_ZONE] };
    const hostnames = ['media.example.com', 'cloud.example.com', 'wiki.example.com', `shop.${IDN_ZONE}`];

    // create
    const first = await planSync(cf, sim.accountId, { ...base, hostnames });
    expect(first.tunnel.action).toBe('create');
    const { tunnelId, credentials } = await applySync(cf, sim.accountId, first);
    // no-op
    expect(actions(await planSync(cf, sim.accountId, { ...base, hostnames })).every((a) => a.startsWith('noop'))).toBe(true);
    // a duplicate create is refused (409) in the documented error shape
    expect((await failure(cf.createTunnel(sim.accountId, TUNNEL))).status).toBe(409);
    // add
    const more = [...hostnames, 'git.example.com', 'docs.example.com'];
    await applySync(cf, sim.accountId, await planSync(cf, sim.accountId, { ...base, hostnames: more }));
    // update (drift)
    sim.state.records(ZONE).find((r) => r.name === 'wiki.example.com')!.content = 'old.cfargotunnel.com';
    const drifted = await planSync(cf, sim.accountId, { ...base, hostnames: more });
    expect(actions(drifted)).toContain('update dns/wiki.example.com');
    await applySync(cf, sim.accountId, drifted);
    // adopt a foreign record
    sim.state.seedRecord(ZONE, { name: 'nas.example.com', type: 'A', content: '192.0.2.7' });
    const withNas = [...more, 'nas.example.com'];
    const conflicted = await planSync(cf, sim.accountId, { ...base, hostnames: withNas });
    expect(conflicted.dns.conflicts).toHaveLength(1);
    await applySync(cf, sim.accountId, await planSync(cf, sim.accountId, { ...base, hostnames: withNas, adopt: true }));
    expect(sim.state.records(ZONE).find((r) => r.name === 'nas.example.com')).toMatchObject({
      type: 'CNAME',
      content: tunnelTarget(tunnelId),
    });
    // delete
    const fewer = withNas.filter((h) => h !== 'docs.example.com');
    const pruned = await planSync(cf, sim.accountId, { ...base, hostnames: fewer });
    expect(actions(pruned)).toContain('delete dns/docs.example.com');
    await applySync(cf, sim.accountId, pruned);
    // mass-delete refusal: planned, refused, nothing written
    const writesBefore = proxy.exchanges.filter((e) => e.method !== 'GET').length;
    const mass = await planSync(cf, sim.accountId, { ...base, hostnames: [], maxDeletes: 3 });
    expect(mass.dns.errors.join('\n')).toContain('refusing to delete');
    expect(proxy.exchanges.filter((e) => e.method !== 'GET').length).toBe(writesBefore);
    // lost credentials
    const recovered = await cf.recoverCredentials(sim.accountId, tunnelId);
    expect(recovered.tunnelSecret.equals(credentials!.tunnelSecret)).toBe(true);
    // status and the restart wait, from the connections endpoint
    const watch = await watchConnectorRestart({
      cloudflare: cf,
      reporter: silentReporter,
      accountId: sim.accountId,
      tunnelId,
      address: `tunnel/${TUNNEL}`,
      timeoutMs: 0,
    });
    const connectorId = sim.state.setTunnelConnections(tunnelId, 4);
    await watch.waitForRestarted();
    expect(await cf.findTunnel(sim.accountId, TUNNEL)).toMatchObject({ id: tunnelId, status: 'healthy' });
    expect((await cf.listConnectors(sim.accountId, tunnelId)).map((c) => [c.id, c.connections])).toEqual([[connectorId, 4]]);
    // a malformed token: refused in the documented error shape
    expect((await failure(adapter('not "a" token').findTunnel(sim.accountId, TUNNEL))).message).toContain('malformed');

    expect(proxy.violations).toEqual([]);
    expect(new Set(proxy.exchanges.map((e) => e.operationId))).toEqual(
      new Set([
        'cloudflare-tunnel-list-cloudflare-tunnels',
        'cloudflare-tunnel-create-a-cloudflare-tunnel',
        'cloudflare-tunnel-get-a-cloudflare-tunnel-token',
        'cloudflare-tunnel-list-cloudflare-tunnel-connections',
        'zones-get',
        'dns-records-for-a-zone-list-dns-records',
        'x-derived-dns-records-batch',
      ]),
    );
  });

  it('batch fallback and a lost batch answer: single-record calls and the re-read stay within the schema', async () => {
    const { sim, proxy, adapter } = await contract({ batch: false });
    const cf = adapter();
    const base = { tunnelName: TUNNEL, zones: [ZONE] };
    const { tunnelId } = await applySync(
      cf,
      sim.accountId,
      await planSync(cf, sim.accountId, { ...base, hostnames: ['a.example.com', 'b.example.com'] }),
    );
    sim.state.records(ZONE).find((r) => r.name === 'a.example.com')!.content = 'old.cfargotunnel.com';
    await applySync(cf, sim.accountId, await planSync(cf, sim.accountId, { ...base, hostnames: ['a.example.com', 'c.example.com'] }));
    expect(sim.state.records(ZONE).map((r) => [r.name, r.content])).toEqual([
      ['a.example.com', tunnelTarget(tunnelId)],
      ['c.example.com', tunnelTarget(tunnelId)],
    ]);
    sim.faults.dropAnswer(1, { path: /\/dns_records$/, method: 'POST' });
    await applySync(
      cf,
      sim.accountId,
      await planSync(cf, sim.accountId, { ...base, hostnames: ['a.example.com', 'c.example.com', 'd.example.com'] }),
    );
    expect(sim.state.records(ZONE)).toHaveLength(3);

    expect(proxy.violations).toEqual([]);
    const seen = new Set(proxy.exchanges.map((e) => `${e.operationId} ${e.status}`));
    for (const expected of [
      'x-derived-dns-records-batch 404',
      'dns-records-for-a-zone-create-dns-record 200',
      'dns-records-for-a-zone-update-dns-record 200',
      'dns-records-for-a-zone-delete-dns-record 200',
      'dns-records-for-a-zone-create-dns-record -1',
    ]) {
      expect(seen).toContain(expected);
    }
  });
});

describe('the contract check itself', () => {
  it('fails on a response the schema does not allow (a zone without owner, meta, original_* and activated_on)', async () => {
    const stub = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          success: true,
          errors: [],
          messages: [],
          result: [
            {
              id: '0'.repeat(32),
              name: ZONE,
              status: 'active',
              account: { id: '1'.repeat(32), name: 'x' },
              name_servers: [],
              created_on: '2026-01-01T00:00:00Z',
              modified_on: '2026-01-01T00:00:00Z',
              development_mode: 0,
            },
          ],
          result_info: { page: 1, per_page: 50, count: 1, total_count: 1 },
        }),
      );
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    proxy = await startContractProxy(`http://127.0.0.1:${(stub.address() as AddressInfo).port}/client/v4`);
    try {
      const res = await fetch(`${proxy.url}/zones?name=${ZONE}&per_page=50`, { headers: { authorization: 'Bearer x' } });
      expect(res.status).toBe(200);
      expect(proxy.violations).toHaveLength(1);
      expect(proxy.violations[0]).toMatchObject({ operationId: 'zones-get', direction: 'response' });
      expect(proxy.violations[0]!.problems.join('\n')).toMatch(/must have required property 'owner'/);
    } finally {
      stub.closeAllConnections();
      await new Promise<void>((r) => stub.close(() => r()));
    }
  });

  it('fails on a request the schema does not allow', () => {
    const zone = 'a'.repeat(32);
    const bad = checkRequest(
      'POST',
      `/zones/${zone}/dns_records`,
      new URLSearchParams(),
      { type: 'CNAME', name: 'x.example.com', content: 'y.example.com', ttl: 5 },
      true,
    );
    expect(bad.problems.join('\n')).toMatch(/ttl/);
    const unknownQuery = checkRequest('GET', `/zones/${zone}/dns_records`, new URLSearchParams('per_page=100&nme=x'), undefined, false);
    expect(unknownQuery.problems).toEqual(['query parameter nme is not declared']);
    expect(checkRequest('GET', `/zones/${zone}/dns_records`, new URLSearchParams('per_page=100'), undefined, false).problems).toEqual([]);
  });
});
