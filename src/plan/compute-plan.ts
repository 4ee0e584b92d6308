import { PlanError } from '../core/errors.js';
import type { Inventory } from '../inventory/types.js';
import type { ActualState } from './actual-state.js';
import { MANAGED_PATHS } from './actual-state.js';
import type { DesiredState } from './desired-state.js';
import { inApplyOrder } from './apply-order.js';
import { planAccess } from './plan-access.js';
import { planDns } from './plan-dns.js';
import { planExposure } from './plan-exposure.js';
import { planHost } from './plan-host.js';
import { planLxc } from './plan-lxc.js';
import { planTunnel } from './plan-tunnel.js';
import type { Change, Plan } from './types.js';
import type { AdoptKinds } from './ownership.js';

export interface PlanOptions {
  /** The kinds whose foreign resources on wanted names are taken over (`--adopt[=dns,...]`). */
  adopt: AdoptKinds;
  /** Allow deleting more of our records than settings.maxDeletes (--allow-mass-delete). */
  allowMassDelete: boolean;
}

/**
 * Desired + actual → Plan. Pure. Changes come out in the apply order of `APPLY_ORDER`
 * (apply-order.ts), the same table apply walks, so the dry run lists them as they will happen.
 * Throws PlanError with every problem at once when the plan would be unsafe.
 */
export function computePlan(inventory: Inventory, actual: ActualState, desired: DesiredState, options: PlanOptions): Plan {
  const errors = [...desired.errors];
  const warnings = [...desired.warnings];

  const lxc = planLxc(inventory.connector, actual.proxmox, options.adopt.has('lxc'));
  errors.push(...lxc.errors);

  const tunnel = planTunnel(inventory.tunnel.name, inventory.cloudflare.accountId, actual.tunnel);

  // A host we will create or start cannot have been read: its state is "known after apply".
  const hostKnown = lxc.change.action === 'noop' || (lxc.change.action === 'update' && !lxc.change.start);
  const host = hostKnown ? actual.host : undefined;
  const hostPlan = planHost({
    connector: inventory.connector.hostname,
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

  const access = planAccess({ inventory, state: actual.access, hostnames: desired.hostnames, adopt: options.adopt.has('access') });
  errors.push(...access.errors);
  warnings.push(...access.warnings);
  const exposure = planExposure({ inventory, zones: actual.zones, access: actual.access, hostnames: desired.hostnames });
  warnings.push(...exposure.warnings);

  if (errors.length > 0) throw new PlanError(errors);

  const changes = inApplyOrder<Change>([
    lxc.change,
    tunnel,
    hostPlan.pkg,
    hostPlan.credentials,
    ...hostPlan.files,
    hostPlan.unit,
    ...dns.changes,
    ...access.tokens,
    ...access.policies,
    ...access.apps,
  ]);
  return {
    changes,
    conflicts: [...lxc.conflicts, ...dns.conflicts, ...access.conflicts],
    warnings,
    origins: desired.origins,
    exposure: exposure.exposure,
    accessRead: actual.access !== undefined,
  };
}
