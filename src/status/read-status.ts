import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { Renderer } from '../render/templates.js';
import { isOwnedBy } from '../plan/ownership.js';
import { describeExposure } from '../plan/plan-exposure.js';
import { planSync } from '../sync/run-sync.js';
import { closeRead } from '../sync/read-actual.js';
import { replicaActual } from '../plan/actual-state.js';
import type { Ports } from '../sync/ports.js';
import { ADOPT_NOTHING } from '../plan/ownership.js';
import { renderedIngress, servesRendered } from '../render/served-config.js';

/** `none`: a path rule without hostname, which has no DNS record of its own. */
export type DnsState = 'ok' | 'none' | 'missing' | 'foreign' | 'wrong-target' | 'unmarked';

export interface RouteStatus {
  hostname: string;
  path?: string;
  service: string;
  dns: DnsState;
  /** PUBLIC or PROTECTED (policies), as published now (Cloudflare Access). */
  exposure: string;
  /** Whether the origin answered from the connector (undefined: not checked, e.g. http_status). */
  reachable: boolean | undefined;
  detail: string;
}

export interface ConnectorStatus {
  id: string;
  version: string;
  runAt: string;
  connections: number;
  colos: string[];
}

/** One cloudflared replica, as Proxmox, its unit, its `/ready` and Cloudflare see it. */
export interface ReplicaStatus {
  address: string;
  standby: boolean;
  state: string;
  ip: string | undefined;
  service: string;
  /** HTTP status of `/ready` read on the replica (undefined: nothing answered or not reachable). */
  ready: number | undefined;
  readyConnections: number;
  connectorId: string | undefined;
  /** Its connector id is on the tunnel's connections endpoint, with connections. */
  seenByCloudflare: boolean;
  /** `cloudflared --version` on the replica (undefined: not installed or not reachable). */
  version: string | undefined;
  /** `/config`'s version (-1 for a config.yml tunnel: only remotely pushed configs raise it). */
  configVersion: number | undefined;
  /** Its `/config` lists the ingress proxflare renders now; undefined when nothing answered. */
  servesCurrentConfig: boolean | undefined;
  /** Why it does not (rules missing or still served), when it does not. */
  configDetail?: string;
  /** Serving replicas: up, ready, seen by Cloudflare, on the current config. Standbys: stopped. */
  healthy: boolean;
}

export interface Status {
  /** `connections` is the sum over `connectors`, read from the tunnel's connections endpoint. */
  tunnel: { name: string; id: string | undefined; status: string; connections: number; connectors: ConnectorStatus[] };
  connector: { address: string; state: string; ip: string | undefined; service: string };
  /** Every replica (one for the single-connector shape). */
  replicas: ReplicaStatus[];
  /** `healthy` when every serving replica is healthy, `degraded` (naming them) when one is down or stale. */
  overall: { state: 'healthy' | 'degraded' | 'down'; unhealthy: string[] };
  routes: RouteStatus[];
  pendingChanges: number;
}

/** Everything `proxflare status` shows, read with readers only (plus probes run on the connector). */
export async function readStatus(inventory: Inventory, ports: Ports, renderer: Renderer, reporter: Reporter): Promise<Status> {
  reporter.step('status', 'reading Proxmox, Cloudflare and the connector');
  const planned = await planSync(inventory, ports, renderer, { adopt: ADOPT_NOTHING, allowMassDelete: true }, reporter);
  const { actual } = planned.read;
  const host = planned.read.host;
  try {
    const tunnelTarget = actual.tunnel ? `${actual.tunnel.id}.cfargotunnel.com` : undefined;
    const records = new Map(actual.zones.flatMap((z) => z.records).map((r) => [r.name, r] as const));

    const probeable = planned.plan.origins.filter((o) => /^(https?|tcp|ssh|rdp):\/\//.test(o.service));
    reporter.step('status', `probing ${probeable.length} origin${probeable.length === 1 ? '' : 's'} from the connector`);
    const probes = host ? await host.probe(probeable.map((o) => ({ url: o.service }))) : [];
    const probeByUrl = new Map(probes.map((p) => [p.url, p]));

    const routes: RouteStatus[] = planned.plan.origins.map((o) => {
      const record = records.get(o.hostname);
      let dns: DnsState = o.hostname === '' ? 'none' : 'missing';
      if (record) {
        if (!isOwnedBy(record.comment, inventory.tunnel.name)) dns = record.content === tunnelTarget ? 'unmarked' : 'foreign';
        else dns = record.content === tunnelTarget && record.proxied ? 'ok' : 'wrong-target';
      }
      const probe = probeByUrl.get(o.service);
      const exposure = planned.plan.exposure?.find((e) => e.hostname === o.hostname);
      return {
        hostname: o.hostname,
        ...(o.path ? { path: o.path } : {}),
        service: o.service,
        dns,
        exposure: exposure?.before
          ? describeExposure(exposure.before)
          : exposure?.after
            ? `${describeExposure(exposure.after)} (pending)`
            : '-',
        reachable: probe ? probe.ok : undefined,
        detail: probe ? probe.detail : host ? 'not probed' : 'connector not reachable',
      };
    });

    const connector = actual.proxmox.connector;
    const connectors = actual.tunnel ? await ports.cloudflare.listConnectors(inventory.cloudflare.accountId, actual.tunnel.id) : [];
    const rendered = renderedIngress(planned.desired.configYml);
    const replicas: ReplicaStatus[] = [];
    for (const spec of inventory.connectors) {
      const r = replicaActual(actual, spec.hostname);
      const lxc = r.proxmox.connector;
      const replicaHost = planned.read.hosts.get(spec.hostname);
      const ready = replicaHost ? await replicaHost.readiness().catch(() => undefined) : undefined;
      const served = ready?.status !== undefined && rendered ? servesRendered(ready.config, rendered) : undefined;
      const replica: ReplicaStatus = {
        address: `lxc/${spec.hostname}`,
        standby: spec.standby === true,
        state: lxc ? lxc.status : 'missing',
        ip: lxc?.ip,
        service: r.host ? (r.host.unit.active ? 'active' : 'inactive') : 'unknown',
        ready: ready?.status,
        readyConnections: ready?.readyConnections ?? 0,
        connectorId: ready?.connectorId,
        seenByCloudflare: ready?.connectorId !== undefined && connectors.some((c) => c.id === ready.connectorId && c.connections > 0),
        version: r.host?.cloudflaredVersion,
        configVersion: ready?.config?.version,
        servesCurrentConfig: served?.current,
        ...(served && !served.current ? { configDetail: served.why } : {}),
        healthy: false,
      };
      replica.healthy = replica.standby
        ? replica.service !== 'active'
        : replica.service === 'active' && replica.ready === 200 && replica.seenByCloudflare && replica.servesCurrentConfig !== false;
      replicas.push(replica);
    }
    const serving = replicas.filter((r) => !r.standby);
    const unhealthy = replicas.filter((r) => !r.healthy).map((r) => r.address);
    const overall: Status['overall'] = {
      state: serving.length > 0 && serving.every((r) => !r.healthy) ? 'down' : unhealthy.length > 0 ? 'degraded' : 'healthy',
      unhealthy,
    };
    reporter.done('status');
    return {
      tunnel: {
        name: inventory.tunnel.name,
        id: actual.tunnel?.id,
        status: actual.tunnel?.status ?? 'missing',
        connections: connectors.reduce((n, c) => n + c.connections, 0),
        connectors: connectors.map((c) => ({ id: c.id, version: c.version, runAt: c.runAt, connections: c.connections, colos: c.colos })),
      },
      connector: {
        address: `lxc/${inventory.connector.hostname}`,
        state: connector ? connector.status : 'missing',
        ip: connector?.ip,
        service: actual.host ? (actual.host.unit.active ? 'active' : 'inactive') : 'unknown',
      },
      replicas,
      overall,
      routes,
      pendingChanges: planned.plan.changes.filter((c) => c.action !== 'noop').length,
    };
  } finally {
    await closeRead(planned.read);
  }
}
