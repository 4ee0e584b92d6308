import { performance } from 'node:perf_hooks';
import { createCloudflare } from '../../cloudflare/create-cloudflare.js';
import { dnsChangeSets } from '../../apply/executors/dns.js';
import { Secret } from '../../core/secret.js';
import { planDns, type PlanDnsResult } from '../../plan/plan-dns.js';
import type { Cloudflare } from '../../ports/cloudflare.js';
import { startCloudflareSim } from './start-cloudflare-sim.js';
import { ADOPT_NOTHING } from '../../plan/ownership.js';

export interface CloudflareBenchResult {
  hostnames: number;
  unrelatedRecords: number;
  apply: { requests: number; batchRequests: number; ms: number };
  noopRead: { requests: number; ms: number; changes: number; noops: number };
}

async function readAndPlan(
  cf: Cloudflare,
  accountId: string,
  zone: string,
  tunnelName: string,
  hostnames: string[],
): Promise<PlanDnsResult> {
  const tunnel = await cf.findTunnel(accountId, tunnelName);
  if (!tunnel) throw new Error(`bench: tunnel ${tunnelName} missing`);
  const records = await cf.listZoneRecords(zone);
  return planDns({
    hostnames,
    zones: [records],
    tunnelId: tunnel.id,
    tunnelName,
    adopt: ADOPT_NOTHING,
    maxDeletes: 10,
    allowMassDelete: false,
  });
}

/**
 * Request counts and wall time against the simulator for a zone with `hostnames` inventory
 * routes among `unrelated` foreign records: applying all routes, then a no-op plan read.
 */
export async function benchCloudflare(hostnameCount = 1000, unrelated = 4000): Promise<CloudflareBenchResult> {
  const zone = 'example.com';
  const sim = await startCloudflareSim({ zones: [{ name: zone, recordQuota: hostnameCount + unrelated + 10 }] });
  try {
    for (let i = 0; i < unrelated; i++) sim.state.seedRecord(zone, { name: `host${i}.${zone}`, type: 'A', content: `192.0.2.${i % 250}` });
    const tunnel = sim.state.seedTunnel(sim.accountId, 'homelab');
    const hostnames = Array.from({ length: hostnameCount }, (_, i) => `svc${i}.${zone}`);
    const settings = { apiToken: new Secret(sim.token), accountId: sim.accountId, zones: [zone], baseUrl: sim.url };

    const applier = createCloudflare(settings);
    const planned = await readAndPlan(applier, sim.accountId, zone, 'homelab', hostnames);
    const before = sim.requests.length;
    const t0 = performance.now();
    // The apply-order row of DNS creates/updates, grouped the way the DNS executor sends it.
    const routes = planned.changes.filter((c) => c.action === 'create' || c.action === 'update');
    for (const { set } of dnsChangeSets(routes, (text) => text)) await applier.applyDnsChanges(set);
    const applyMs = performance.now() - t0;
    const applyRequests = sim.requests.slice(before);

    const reader = createCloudflare(settings);
    const mark = sim.requests.length;
    const t1 = performance.now();
    const again = await readAndPlan(reader, sim.accountId, zone, 'homelab', hostnames);
    const readMs = performance.now() - t1;

    return {
      hostnames: hostnameCount,
      unrelatedRecords: unrelated,
      apply: {
        requests: applyRequests.length,
        batchRequests: applyRequests.filter((r) => r.operationId === 'x-derived-dns-records-batch').length,
        ms: Math.round(applyMs),
      },
      noopRead: {
        requests: sim.requests.length - mark,
        ms: Math.round(readMs),
        changes: again.changes.filter((c) => c.action !== 'noop').length,
        noops: again.changes.filter((c) => c.action === 'noop').length,
      },
    };
  } finally {
    await sim.close();
  }
}
