import { dnsChangeSets, splitDnsPhases } from '../../../src/cloudflare/dns-change-sets.js';
import { createCloudflare, type CloudflareAdapter, type CloudflareAdapterOptions } from '../../../src/cloudflare/create-cloudflare.js';
import { Secret } from '../../../src/core/secret.js';
import type { CloudflareSettings } from '../../../src/inventory/types.js';
import { planDns, type PlanDnsResult } from '../../../src/plan/plan-dns.js';
import { planTunnel } from '../../../src/plan/plan-tunnel.js';
import { TUNNEL_ID_PLACEHOLDER, type TunnelChange, type Upsert } from '../../../src/plan/types.js';
import type { TunnelCredentials } from '../../../src/ports/cloudflare.js';
import type { CloudflareSim } from '../../../src/sim/cloudflare/start-cloudflare-sim.js';
import { ADOPT_ALL, ADOPT_NOTHING } from '../../../src/plan/ownership.js';

export function settingsFor(sim: CloudflareSim, zones: string[], token = sim.token): CloudflareSettings {
  return { apiToken: new Secret(token), accountId: sim.accountId, zones, baseUrl: sim.url };
}

export function adapterFor(sim: CloudflareSim, zones: string[], options: CloudflareAdapterOptions & { token?: string } = {}): CloudflareAdapter {
  return createCloudflare(settingsFor(sim, zones, options.token), { maxRetries: 4, ...options });
}

export interface SyncInput {
  tunnelName: string;
  hostnames: string[];
  zones: string[];
  adopt?: boolean;
  maxDeletes?: number;
  allowMassDelete?: boolean;
}

export interface SyncPlan {
  tunnel: Upsert<TunnelChange>;
  dns: PlanDnsResult;
}

/** Read + plan, the way `sync --dry-run` does it for the Cloudflare part. */
export async function planSync(cf: CloudflareAdapter, accountId: string, input: SyncInput): Promise<SyncPlan> {
  const found = await cf.findTunnel(accountId, input.tunnelName);
  const zones = await Promise.all(input.zones.map((z) => cf.listZoneRecords(z)));
  return {
    tunnel: planTunnel(input.tunnelName, accountId, found),
    dns: planDns({
      hostnames: input.hostnames,
      zones,
      tunnelId: found?.id ?? TUNNEL_ID_PLACEHOLDER,
      tunnelName: input.tunnelName,
      adopt: input.adopt ? ADOPT_ALL : ADOPT_NOTHING,
      maxDeletes: input.maxDeletes ?? 10,
      allowMassDelete: input.allowMassDelete ?? false,
    }),
  };
}

/** Apply in the agreed order: tunnel, DNS creates/updates, then DNS deletes. */
export async function applySync(cf: CloudflareAdapter, accountId: string, plan: SyncPlan): Promise<{ tunnelId: string; credentials?: TunnelCredentials }> {
  let tunnelId = plan.tunnel.after.id;
  let credentials: TunnelCredentials | undefined;
  if (plan.tunnel.action === 'create') {
    const created = await cf.createTunnel(accountId, plan.tunnel.after.name);
    tunnelId = created.tunnel.id;
    credentials = created.credentials;
  }
  const { routes, prunes } = splitDnsPhases(plan.dns.changes);
  for (const set of dnsChangeSets(routes, tunnelId)) await cf.applyDnsChanges(set);
  for (const set of dnsChangeSets(prunes, tunnelId)) await cf.applyDnsChanges(set);
  return { tunnelId, ...(credentials ? { credentials } : {}) };
}

export function actions(plan: SyncPlan): string[] {
  return plan.dns.changes.map((c) => `${c.action} ${c.address}`);
}
