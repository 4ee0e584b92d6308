import { PlanError } from '../core/errors.js';
import type { ConnectorSpec, Inventory } from '../inventory/types.js';
import type { ActualState } from './actual-state.js';
import { MANAGED_PATHS, replicaActual, type ReplicaActual } from './actual-state.js';
import type { DesiredState } from './desired-state.js';
import { inApplyOrder } from './apply-order.js';
import { planAccess } from './plan-access.js';
import { planDns } from './plan-dns.js';
import { planExposure } from './plan-exposure.js';
import { planHost } from './plan-host.js';
import { lxcLeftoverWarnings } from './lxc-leftovers.js';
import { planLeftovers } from './plan-leftovers.js';
import { planRemoteConfig } from './plan-remote-config.js';
import { replicaUnitFile, watchdogFiles } from './plan-watchdog.js';
import { planLxc } from './plan-lxc.js';
import { planStaging } from './plan-staging.js';
import { planTunnel } from './plan-tunnel.js';
import type { Change, Plan, TunnelChange, Upsert } from './types.js';
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

  const tunnel = planTunnel(inventory.tunnel.name, inventory.cloudflare.accountId, actual.tunnel);
  // Every replica is resources of its own, all with the same credentials and the same files.
  const replicas = inventory.connectors.map((spec) =>
    planReplica(inventory, spec, replicaActual(actual, spec.hostname), tunnel, desired, {
      adoptLxc: options.adopt.has('lxc'),
      expectedCredentials: actual.expectedCredentials,
    }),
  );
  for (const r of replicas) errors.push(...r.lxc.errors);
  for (const spec of inventory.connectors) warnings.push(...lxcLeftoverWarnings(spec, replicaActual(actual, spec.hostname).proxmox));

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

  const remoteConfig = planRemoteConfig({
    tunnelName: inventory.tunnel.name,
    accountId: inventory.cloudflare.accountId,
    tunnel: actual.tunnel,
    remote: actual.remoteConfig,
    configYml: desired.configYml,
    hosts: inventory.connectors.map((spec) => replicaActual(actual, spec.hostname).host),
    adopt: options.adopt.has('tunnel'),
  });

  if (errors.length > 0) throw new PlanError(errors);

  // Records of a guest that could not be read are neither created nor deleted (unresolved-routes.ts).
  const frozen = new Set(desired.unresolved.flatMap((u) => u.hostnames.filter((h) => !u.kept.includes(h))));
  const dnsChanges = dns.changes.filter((c) => !frozen.has(c.after?.name ?? c.before?.name ?? ''));
  const changes = inApplyOrder<Change>([
    ...replicas.map((r) => r.lxc.change),
    tunnel,
    ...replicas.flatMap((r) => [
      ...r.staging,
      r.host.pkg,
      r.host.credentials,
      ...r.host.files,
      r.host.unit,
      ...(r.leftover ? [r.leftover] : []),
    ]),
    ...(remoteConfig.change ? [remoteConfig.change] : []),
    ...dnsChanges,
    ...access.tokens,
    ...access.policies,
    ...access.apps,
  ]);
  const plan: Plan = {
    changes,
    conflicts: [...replicas.flatMap((r) => r.lxc.conflicts), ...remoteConfig.conflicts, ...dns.conflicts, ...access.conflicts],
    warnings,
    origins: desired.origins,
    exposure: exposure.exposure,
    accessRead: actual.access !== undefined,
  };
  if (desired.unresolved.length > 0)
    plan.unresolved = desired.unresolved.map((u) => ({ guest: u.guest, error: u.error, hostnames: u.hostnames }));
  return plan;
}

/** One connector's container and what lives on it. */
function planReplica(
  inventory: Inventory,
  spec: ConnectorSpec,
  actual: ReplicaActual,
  tunnel: Upsert<TunnelChange>,
  desired: DesiredState,
  options: { adoptLxc: boolean; expectedCredentials: ActualState['expectedCredentials'] },
) {
  const lxc = planLxc(spec, actual.proxmox, options.adoptLxc);
  // A host we will create or start cannot have been read: its state is "known after apply".
  const hostKnown = lxc.change.action === 'noop' || (lxc.change.action === 'update' && !lxc.change.start);
  const host = planHost({
    connector: spec.hostname,
    host: hostKnown ? actual.host : undefined,
    tunnel,
    accountId: inventory.cloudflare.accountId,
    source: spec.cloudflared,
    credentialsPath: MANAGED_PATHS.credentials,
    ...(options.expectedCredentials ? { expectedCredentials: options.expectedCredentials } : {}),
    files: [
      { path: MANAGED_PATHS.config, content: desired.configYml, mode: 0o644, validate: true },
      { path: MANAGED_PATHS.unitFile, content: replicaUnitFile(spec, actual, desired), mode: 0o644, validate: false },
      ...watchdogFiles(),
    ],
    unit: MANAGED_PATHS.unit,
    ...(spec.standby ? { standby: true } : {}),
  });
  return {
    lxc,
    host,
    staging: planStaging(spec.hostname, hostKnown ? actual.host : undefined),
    leftover: hostKnown ? planLeftovers(spec.hostname, actual.host) : undefined,
  };
}
