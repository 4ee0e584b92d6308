import type { ConnectorSpec, Inventory } from '../inventory/types.js';
import type { TunnelConnector, TunnelState, ZoneRecords } from '../ports/cloudflare.js';
import type { ConnectorState } from '../ports/connector.js';
import type { ProxmoxState } from '../ports/proxmox.js';
import type { AccessSlice, DnsSlice, HostSlice, TunnelSlice } from './actual-state.js';
import { MANAGED_PATHS } from './actual-state.js';
import { WATCHDOG_PATHS, WATCHDOG_TIMER } from '../render/watchdog.js';
import { dnsAddress, hostAddress, lxcAddress, tunnelAddress } from './addresses.js';
import { inApplyOrder } from './apply-order.js';
import type { KeptResource } from './plan-destroy-access.js';
import { planAccessTeardown } from './plan-destroy-access.js';
import { isOurCredentials, isOurFile, isOwnedBy, markerTunnel } from './ownership.js';
import { tunnelTarget } from './plan-dns.js';
import { readCredentials } from './plan-host.js';
import type {
  Change,
  ConnectionsChange,
  CredentialsChange,
  DnsChange,
  FileChange,
  LxcChange,
  LxcView,
  Plan,
  TunnelChange,
  UnitChange,
} from './types.js';
import { byCodePoint } from '../core/compare.js';

/**
 * What `destroy` reads: the slices `sync` reads (the guests' addresses are not needed), plus the
 * tunnel's connectors (GET …/connections: tunnel objects no longer carry connections).
 */
export type DestroyActual = { proxmox: Pick<ProxmoxState, 'connector' | 'foreignConnectors'> } & TunnelSlice &
  DnsSlice &
  AccessSlice &
  HostSlice & {
    connectors: TunnelConnector[];
    /** Every replica by hostname (`connector.replicas`), as sync reads them; absent: one connector. */
    replicas?: Map<string, { proxmox: Pick<ProxmoxState, 'connector' | 'foreignConnectors'>; host: ConnectorState | undefined }>;
  };

export interface DestroyOptions {
  /** Leave the connector LXC in place; remove only what cloudflared serves (--keep-connector). */
  keepConnector: boolean;
  /** Allow deleting more of our DNS records than settings.maxDeletes (--allow-mass-delete). */
  allowMassDelete: boolean;
}

export type { KeptResource };

export interface DestroyPlan extends Plan {
  kept: KeptResource[];
  /** Problems that make the plan unsafe (the mass-delete guard). */
  errors: string[];
}

/**
 * Everything the inventory's tunnel owns, as deletes in the traffic-safe order
 * (access-ha-health.md §4.1): DNS records first, so visitors stop being routed to the tunnel
 * → Access apps, policies and service tokens for those hostnames (added with Access, #16) →
 * cloudflared stopped gracefully on the connector → the tunnel's connection records cleaned
 * up → the tunnel → proxflare's files on the connector → the tagged connector LXC (stop,
 * then destroy with purge). Only what carries our marks is planned; the rest is `kept`. Pure.
 */
export function planDestroy(inventory: Inventory, actual: DestroyActual, options: DestroyOptions): DestroyPlan {
  const kept: KeptResource[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const tunnelName = inventory.tunnel.name;
  const tunnel = actual.tunnel;

  const dns = planDnsDeletes(actual.zones, tunnelName, tunnel, kept);
  if (!options.allowMassDelete && dns.length > inventory.settings.maxDeletes) {
    // Only the limit applies: destroy deletes all of our records by definition, so sync's
    // "more than half of them" rule would refuse every destroy.
    errors.push(
      `destroy would delete ${dns.length} DNS records, more than settings.maxDeletes (${inventory.settings.maxDeletes}): ` +
        `${dns.map((c) => c.before!.name).join(', ')}. Re-run with --allow-mass-delete if that is intended.`,
    );
  }

  // After DNS, so no request reaches a hostname whose protection is already gone.
  const hostnames = [...dns.map((c) => c.before!.name), ...inventoryHostnames(inventory)];
  const accessTeardown = planAccessTeardown(inventory.cloudflare.accountId, tunnelName, actual.access, hostnames);
  kept.push(...accessTeardown.kept);
  const access: Change[] = [...accessTeardown.apps, ...accessTeardown.policies, ...accessTeardown.tokens];

  // Every replica: its cloudflared stopped, its files removed, its container destroyed.
  const replicas = inventory.connectors.map((spec) =>
    planReplicaTeardown(spec, replicaOf(actual, spec.hostname), inventory.cloudflare.accountId, tunnel, options, kept, warnings),
  );

  const tunnelChanges: Change[] = [];
  if (tunnel) {
    const connections = actual.connectors.reduce((n, c) => n + c.connections, 0);
    if (actual.connectors.length > 0) {
      const n = actual.connectors.length;
      const c: ConnectionsChange = {
        kind: 'connections',
        address: `${tunnelAddress(tunnelName)}/connections`,
        action: 'delete',
        reason: `${n} connector${n === 1 ? '' : 's'} with ${connections} connection${connections === 1 ? '' : 's'}, cleaned up after cloudflared stops: a tunnel with connections cannot be deleted (1022)`,
        tunnelId: tunnel.id,
        accountId: inventory.cloudflare.accountId,
        before: { connections },
        after: undefined,
      };
      tunnelChanges.push(c);
    }
    const t: TunnelChange = {
      kind: 'tunnel',
      address: tunnelAddress(tunnelName),
      action: 'delete',
      reason: `named in the inventory, ${tunnel.status}${tunnel.configSrc === 'cloudflare' ? ', remotely managed' : ''}`,
      before: { id: tunnel.id, name: tunnel.name },
      after: undefined,
      accountId: inventory.cloudflare.accountId,
    };
    tunnelChanges.push(t);
  }

  // Listed in the order apply will carry them out (APPLY_ORDER's delete rows).
  const changes: Change[] = inApplyOrder(
    [
      ...dns,
      ...access,
      ...replicas.flatMap((r) => r.stop),
      ...tunnelChanges,
      ...replicas.flatMap((r) => r.files),
      ...replicas.flatMap((r) => r.lxc),
    ],
    'destroy',
  );
  return { changes, conflicts: [], warnings, origins: [], kept, errors };
}

type ReplicaSlice = { proxmox: DestroyActual['proxmox']; host: ConnectorState | undefined };

function replicaOf(actual: DestroyActual, hostname: string): ReplicaSlice {
  return actual.replicas?.get(hostname) ?? { proxmox: actual.proxmox, host: actual.host };
}

/** One connector's part: stop cloudflared, remove proxflare's files, destroy the tagged LXC (or keep it). */
function planReplicaTeardown(
  spec: ConnectorSpec,
  actual: ReplicaSlice,
  accountId: string,
  tunnel: TunnelState | undefined,
  options: DestroyOptions,
  kept: KeptResource[],
  warnings: string[],
): { stop: UnitChange[]; files: (FileChange | CredentialsChange)[]; lxc: LxcChange[] } {
  const connector = spec.hostname;
  const lxc = actual.proxmox.connector;
  const host = actual.host;
  const hostChanges = planHostTeardown(connector, accountId, host, tunnel, kept);
  if (!host && lxc && options.keepConnector) {
    warnings.push(
      `lxc/${connector} is ${lxc.status}: its files cannot be read, so none are removed. Start it and re-run destroy to remove them.`,
    );
  }
  const lxcChanges: LxcChange[] = [];
  if (lxc && !options.keepConnector) {
    const before: LxcView = {
      node: lxc.node,
      vmid: lxc.vmid,
      hostname: lxc.config.hostname,
      template: spec.template,
      storage: spec.storage,
      disk: spec.disk,
      memory: lxc.config.memory,
      swap: lxc.config.swap,
      cores: lxc.config.cores,
      onboot: lxc.config.onboot,
      net0: lxc.config.net0,
      tags: lxc.config.tags,
    };
    lxcChanges.push({
      kind: 'lxc',
      connector,
      address: lxcAddress(connector),
      action: 'delete',
      reason: `CT ${lxc.vmid}, tagged "${spec.tag}", ${lxc.status}`,
      before,
      after: undefined,
      spec,
      ref: { node: lxc.node, vmid: lxc.vmid },
      downloadTemplate: false,
      start: false,
      needsRestart: [],
    });
  } else if (lxc) {
    kept.push({ address: lxcAddress(connector), reason: `CT ${lxc.vmid} kept (--keep-connector)` });
  }
  for (const f of actual.proxmox.foreignConnectors) {
    kept.push({
      address: lxcAddress(connector),
      reason: `CT ${f.vmid} on ${f.node} has the connector's hostname but not the tag "${spec.tag}": not proxflare's`,
    });
  }
  return { ...hostChanges, lxc: lxcChanges };
}

function inventoryHostnames(inventory: Inventory): string[] {
  return [...inventory.guests, ...inventory.hosts].flatMap((o) => o.services.map((s) => s.hostname)).filter((h) => h !== '');
}

function planDnsDeletes(zones: ZoneRecords[], tunnelName: string, tunnel: TunnelState | undefined, kept: KeptResource[]): DnsChange[] {
  const out: DnsChange[] = [];
  const target = tunnel ? tunnelTarget(tunnel.id) : undefined;
  for (const zone of zones) {
    for (const r of [...zone.records].sort((a, b) => byCodePoint(a.name, b.name))) {
      if (isOwnedBy(r.comment, tunnelName)) {
        out.push({
          kind: 'dns',
          address: dnsAddress(r.name),
          action: 'delete',
          reason: `carries proxflare's mark for tunnel ${tunnelName}`,
          zoneId: zone.zoneId,
          zoneName: zone.zoneName,
          before: r,
          after: undefined,
        });
      } else if (target && r.type === 'CNAME' && r.content.toLowerCase() === target) {
        const other = markerTunnel(r.comment);
        kept.push({
          address: dnsAddress(r.name),
          reason:
            (other !== undefined
              ? `points at the tunnel but is marked for tunnel ${other}`
              : 'points at the tunnel but has no proxflare comment') +
            ': left in place; it stops resolving once the tunnel is gone (delete it by hand, or adopt it with `sync --adopt` first)',
        });
      }
    }
  }
  return out;
}

function planHostTeardown(
  connector: string,
  accountId: string,
  host: ConnectorState | undefined,
  tunnel: TunnelState | undefined,
  kept: KeptResource[],
): { stop: UnitChange[]; files: (FileChange | CredentialsChange)[] } {
  if (!host) return { stop: [], files: [] };
  const config = host.files.get(MANAGED_PATHS.config);
  const configIsOurs = config !== undefined && isOurFile(config.content);
  const files: (FileChange | CredentialsChange)[] = [];
  let unitIsOurs = false;
  // The watchdog (render/watchdog.ts) is ours on every replica too; its script has the header after the shebang.
  for (const path of [
    MANAGED_PATHS.config,
    MANAGED_PATHS.credentials,
    MANAGED_PATHS.unitFile,
    WATCHDOG_PATHS.script,
    WATCHDOG_PATHS.service,
    WATCHDOG_PATHS.timer,
  ]) {
    const address = hostAddress('file', connector, path);
    if (path === MANAGED_PATHS.credentials) {
      const credentials = readCredentials(host, path);
      if (!credentials) continue;
      if (!isOurCredentials(credentials.tunnelId, configIsOurs, tunnel?.id)) {
        kept.push({ address, reason: 'not written by proxflare (no proxflare config next to it, another tunnel): left in place' });
        continue;
      }
      files.push({
        kind: 'credentials',
        connector,
        address,
        action: 'delete',
        reason: 'written by proxflare',
        path,
        source: 'token',
        accountId,
        before: { tunnelId: credentials.tunnelId ?? '' },
        after: undefined,
      });
      continue;
    }
    const f = host.files.get(path);
    if (!f) continue;
    if (!isOurFile(f.content) && !isOurFile(f.content.replace(/^#![^\n]*\n/, ''))) {
      kept.push({ address, reason: 'not written by proxflare (no proxflare header): left in place' });
      continue;
    }
    if (path === MANAGED_PATHS.unitFile) unitIsOurs = true;
    files.push({
      kind: 'file',
      connector,
      address,
      action: 'delete',
      reason: 'written by proxflare',
      path,
      mode: f.mode,
      before: { content: f.content, mode: f.mode },
      after: undefined,
      validate: false,
    });
  }
  const stop: UnitChange[] = [];
  // The watchdog timer stops first: it would otherwise restart the cloudflared stopped below.
  if (files.some((f) => f.path === WATCHDOG_PATHS.timer)) {
    stop.push({
      kind: 'unit',
      connector,
      address: hostAddress('unit', connector, WATCHDOG_TIMER),
      action: 'delete',
      reason: "proxflare's watchdog; stopped before cloudflared",
      unit: WATCHDOG_TIMER,
      before: 'unknown',
      after: undefined,
      restart: false,
    });
  }
  const unit = host.unit;
  const unitAddress = hostAddress('unit', connector, MANAGED_PATHS.unit);
  if (unitIsOurs && (unit.active || unit.enabled)) {
    stop.push({
      kind: 'unit',
      connector,
      address: unitAddress,
      action: 'delete',
      reason: `${unit.active ? 'running' : 'stopped'}, ${unit.enabled ? 'enabled' : 'disabled'}; stopped before the tunnel is deleted`,
      unit: MANAGED_PATHS.unit,
      before: { ...unit },
      after: undefined,
      restart: false,
    });
  } else if (!unitIsOurs && unit.active) {
    kept.push({ address: unitAddress, reason: 'runs from a unit file proxflare did not write: left running' });
  }
  return { stop, files };
}
