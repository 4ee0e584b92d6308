import { PlanError } from '../core/errors.js';
import type { Inventory } from '../inventory/types.js';
import type { ActualState } from '../sync/actual-state.js';
import { MANAGED_PATHS } from '../sync/actual-state.js';
import type { DesiredState } from '../sync/desired-state.js';
import { planAccess } from './plan-access.js';
import { planDns } from './plan-dns.js';
import { planExposure } from './plan-exposure.js';
import { planHost } from './plan-host.js';
import { planLxc } from './plan-lxc.js';
import { planTunnel } from './plan-tunnel.js';
import type { Change, Plan } from './types.js';

export interface PlanOptions {
  /** Take over foreign DNS records on wanted hostnames (--adopt). */
  adopt: boolean;
  /** Allow deleting more of our records than settings.maxDeletes (--allow-mass-delete). */
  allowMassDelete: boolean;
}

/**
 * Desired + actual → Plan. Pure. Changes come out in apply order, which keeps traffic safe:
 * connector → tunnel → package → DNS deletes (a removed hostname stops routing before its
 * ingress rule goes) → credentials/files → unit → DNS creates/updates (a new hostname goes
 * live only once its ingress rule is served).
 * Throws PlanError with every problem at once when the plan would be unsafe.
 */
export function computePlan(inventory: Inventory, actual: ActualState, desired: DesiredState, options: PlanOptions): Plan {
  const errors = [...desired.errors];
  const warnings = [...desired.warnings];

  const lxc = planLxc(inventory.connector, actual.proxmox);
  errors.push(...lxc.errors);

  const tunnel = planTunnel(inventory.tunnel.name, inventory.cloudflare.accountId, actual.tunnel);

  // A host we will create or start cannot have been read: its state is "known after apply".
  const hostKnown = lxc.change.action === 'noop' || (lxc.change.action === 'update' && !lxc.change.start);
  const host = hostKnown ? actual.host : undefined;
  const hostPlan = planHost({
    host,
    tunnel,
    accountId: inventory.cloudflare.accountId,
    source: inventory.connector.cloudflared,
    credentialsPath: MANAGED_PATHS.credentials,
    files: [
      { path: MANAGED_PATHS.config, content: desired.configYml, mode: 0o644, validate: true },
      { path: MANAGED_PATHS.unitFile, content: desired.unitFile, mode: 0o644, validate: false },
    ],
    unit: MANAGED_PATHS.unit,
  });

  const dns = planDns({
    hostnames: desired.hostnames,
    zones: actual.zones,
    tunnelId: desired.tunnelId,
    tunnelName: inventory.tunnel.name,
    adopt: options.adopt,
    maxDeletes: inventory.settings.maxDeletes,
    allowMassDelete: options.allowMassDelete,
    ...(inventory.settings.ownerComment ? { commentExtra: inventory.settings.ownerComment } : {}),
  });
  errors.push(...dns.errors);
  warnings.push(...dns.warnings);

  const access = planAccess({ inventory, state: actual.access, hostnames: desired.hostnames, adopt: options.adopt });
  errors.push(...access.errors);
  warnings.push(...access.warnings);
  const exposure = planExposure({ inventory, zones: actual.zones, access: actual.access, hostnames: desired.hostnames });
  warnings.push(...exposure.warnings);

  if (errors.length > 0) throw new PlanError(errors);

  const dnsDeletes = dns.changes.filter((c) => c.action === 'delete');
  const dnsUpserts = dns.changes.filter((c) => c.action !== 'delete');
  // Access before anything can route to a protected hostname; removals only once the connector no longer checks them.
  const accessUp = [...access.tokens, ...access.policies, ...access.apps].filter((c) => c.action !== 'delete');
  const accessDown = [...access.apps, ...access.policies, ...access.tokens].filter((c) => c.action === 'delete');
  const changes: Change[] = [
    lxc.change,
    tunnel,
    ...accessUp,
    hostPlan.pkg,
    ...dnsDeletes,
    hostPlan.credentials,
    ...hostPlan.files,
    hostPlan.unit,
    ...accessDown,
    ...dnsUpserts,
  ];
  return {
    changes,
    conflicts: [...lxc.conflicts, ...dns.conflicts, ...access.conflicts],
    warnings,
    origins: desired.origins,
    exposure: exposure.exposure,
    accessRead: actual.access !== undefined,
  };
}
