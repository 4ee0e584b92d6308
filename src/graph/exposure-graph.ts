/**
 * The homelab as the plan sees it, as a graph: Internet → each public hostname → the tunnel →
 * each connector → each guest or host. Built from the DesiredState the plan uses (no second
 * model of the inventory), so the picture cannot disagree with what sync would render. Pure.
 */
import type { Inventory } from '../inventory/types.js';
import type { ActualState } from '../plan/actual-state.js';
import type { DesiredState, Route, RouteOrigin } from '../plan/desired-state.js';
import { DISCOVERED_AT_SYNC } from '../plan/desired-state.js';

export type Exposure = 'PUBLIC' | 'PROTECTED';

export type GraphNodeKind = 'internet' | 'hostname' | 'tunnel' | 'connector' | 'guest' | 'host' | 'cloudflared' | 'catch-all';

export interface GraphNode {
  /** Stable, Mermaid-safe id: `h0`, `tunnel`, `c0`, `o0`, ... */
  id: string;
  kind: GraphNodeKind;
  /** First line of the label. */
  label: string;
  /** Further lines (exposure, address, ...). */
  details: string[];
}

export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
}

export interface GraphRoute {
  hostname: string;
  path?: string;
  exposure: Exposure;
  /** The cloudflared service: `scheme://ip:port`, `hello_world`, ... */
  service: string;
  /** Node id of where the traffic ends. */
  target: string;
  origin: RouteOrigin;
  /** The originRequest cloudflared applies to this route (its own keys over the tunnel's defaults). */
  originRequest: Record<string, unknown>;
  field: string;
}

export interface ExposureGraph {
  tunnel: { name: string; id: string | undefined };
  connectors: { name: string; node: string; address: string | undefined }[];
  /** In ingress order (first match wins). */
  routes: GraphRoute[];
  catchAll: string;
  /** true when built from the inventory alone: addresses that need Proxmox are DISCOVERED_AT_SYNC. */
  offline: boolean;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Label of the hostname node of a path rule without hostname. */
export const ANY_HOSTNAME = '(any hostname)';

/** Every rule of a hostname must be protected for the hostname to count as protected. */
function exposureOf(routes: Route[]): Exposure {
  return routes.every((r) => r.protected) ? 'PROTECTED' : 'PUBLIC';
}

function originKey(route: Route): string {
  return route.network ? `${route.origin.kind}:${route.origin.name}` : `cloudflared:${route.service}`;
}

function originNode(route: Route, id: string): GraphNode {
  const o = route.origin;
  if (!route.network) {
    return { id, kind: 'cloudflared', label: route.service, details: ['served by cloudflared on the connector'] };
  }
  if (o.kind === 'guest') {
    const address = o.address ?? DISCOVERED_AT_SYNC;
    return {
      id,
      kind: 'guest',
      label: `${o.name}`,
      details: [
        `${o.type === 'lxc' ? 'LXC' : 'VM'} ${o.vmid} on ${o.node}`,
        `${address}${o.addressSource ? ` (from ${o.addressSource})` : ''}`,
      ],
    };
  }
  return { id, kind: 'host', label: o.name, details: [o.proxmoxNode ? 'host, Proxmox node' : 'host', o.address] };
}

export function buildExposureGraph(
  inventory: Inventory,
  actual: ActualState,
  desired: DesiredState,
  options: { offline: boolean },
): ExposureGraph {
  const tunnel = { name: inventory.tunnel.name, id: actual.tunnel?.id };
  const lxc = actual.proxmox.connector;
  const network = inventory.connector.network;
  const staticIp = network.ip === 'dhcp' ? undefined : network.ip.split('/')[0];
  const connectors = [{ name: inventory.connector.hostname, node: inventory.connector.node, address: lxc?.ip ?? staticIp }];

  const nodes: GraphNode[] = [{ id: 'internet', kind: 'internet', label: 'Internet', details: [] }];
  const edges: GraphEdge[] = [];

  const byHostname = new Map<string, Route[]>();
  for (const r of desired.routes) byHostname.set(r.hostname, [...(byHostname.get(r.hostname) ?? []), r]);
  const hostnameId = new Map<string, string>();
  for (const [hostname, routes] of byHostname) {
    const id = `h${hostnameId.size}`;
    hostnameId.set(hostname, id);
    nodes.push({ id, kind: 'hostname', label: hostname === '' ? ANY_HOSTNAME : hostname, details: [exposureOf(routes)] });
    edges.push({ from: 'internet', to: id });
    edges.push({ from: id, to: 'tunnel' });
  }

  nodes.push({
    id: 'tunnel',
    kind: 'tunnel',
    label: `tunnel ${tunnel.name}`,
    details: [tunnel.id ?? (options.offline ? 'id read at sync' : 'created at sync')],
  });
  connectors.forEach((c, i) => {
    nodes.push({
      id: `c${i}`,
      kind: 'connector',
      label: `connector ${c.name}`,
      details: [`LXC on ${c.node}`, c.address ?? (options.offline ? DISCOVERED_AT_SYNC : 'created at sync')],
    });
    edges.push({ from: 'tunnel', to: `c${i}` });
  });

  // Every connector serves every route (replicas run the same config), so each has an edge to each origin.
  const targetId = new Map<string, string>();
  const routes: GraphRoute[] = [];
  for (const r of desired.routes) {
    const key = originKey(r);
    let id = targetId.get(key);
    if (!id) {
      id = `o${targetId.size}`;
      targetId.set(key, id);
      nodes.push(originNode(r, id));
    }
    const label = `${r.hostname === '' ? ANY_HOSTNAME : r.hostname}${r.path ? ` ${r.path}` : ''}${r.network ? ` → ${r.service}` : ''}`;
    connectors.forEach((_, i) => edges.push({ from: `c${i}`, to: id, label }));
    routes.push({
      hostname: r.hostname,
      ...(r.path ? { path: r.path } : {}),
      exposure: r.protected ? 'PROTECTED' : 'PUBLIC',
      service: r.service,
      target: id,
      origin: r.origin,
      originRequest: r.originRequest,
      field: r.field,
    });
  }
  nodes.push({ id: 'catchall', kind: 'catch-all', label: desired.catchAll, details: ['catch-all: requests no route matches'] });
  connectors.forEach((_, i) => edges.push({ from: `c${i}`, to: 'catchall', label: 'anything else' }));

  return { tunnel, connectors, routes, catchAll: desired.catchAll, offline: options.offline, nodes, edges };
}
