import { applyPlan } from '../../../src/apply/apply-plan.js';
import { ApplyError } from '../../../src/core/errors.js';
import { silentReporter } from '../../../src/core/reporter.js';
import type { Inventory } from '../../../src/inventory/types.js';
import { inApplyOrder } from '../../../src/plan/apply-order.js';
import type { Change } from '../../../src/plan/types.js';
import type { Ports } from '../../../src/sync/ports.js';
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

export function adapterFor(
  sim: CloudflareSim,
  zones: string[],
  options: CloudflareAdapterOptions & { token?: string } = {},
): CloudflareAdapter {
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

/**
 * Apply through the production path: `applyPlan` walks APPLY_ORDER and runs the tunnel and DNS
 * executors against the adapter. Proxmox and the connector are never reached by a plan of
 * tunnel and DNS changes; touching them fails the test.
 */
export async function applySync(
  cf: CloudflareAdapter,
  accountId: string,
  plan: SyncPlan,
): Promise<{ tunnelId: string; credentials?: TunnelCredentials }> {
  let credentials: TunnelCredentials | undefined;
  // Observes the real createTunnel (the credentials stay inside apply otherwise); the call goes through.
  const cloudflare = new Proxy(cf, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (key !== 'createTunnel') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (...args: Parameters<CloudflareAdapter['createTunnel']>) => {
        const created = await target.createTunnel(...args);
        credentials = created.credentials;
        return created;
      };
    },
  });
  const untouchable = new Proxy({} as Ports['proxmox'], {
    get: (_t, key) => {
      throw new Error(`a Cloudflare-only apply reached proxmox.${String(key)}`);
    },
  });
  const ports: Ports = {
    cloudflare,
    proxmox: untouchable,
    connect: () => Promise.reject(new Error('a Cloudflare-only apply reached the connector')),
    close: async () => {},
  };
  // applyPlan reads only these inventory fields for tunnel and DNS changes.
  const inventory = {
    cloudflare: { accountId },
    tunnel: { name: plan.tunnel.after.name },
    connector: { hostname: 'cloudflared' },
  } as unknown as Inventory;
  const changes = inApplyOrder<Change>([plan.tunnel, ...plan.dns.changes]);
  const result = await applyPlan(
    { changes, conflicts: [], warnings: [], origins: [] },
    { inventory, ports, reporter: silentReporter, host: undefined },
  ).catch((err: unknown) => {
    // The tests look at the adapter's error that apply stopped at.
    throw err instanceof ApplyError ? err.cause : err;
  });
  return { tunnelId: result.tunnelId, ...(credentials ? { credentials } : {}) };
}

export function actions(plan: SyncPlan): string[] {
  return plan.dns.changes.map((c) => `${c.action} ${c.address}`);
}
