import type { GuestSpec, HostSpec, Inventory, ServiceSpec } from '../inventory/types.js';
import { NETWORK_SCHEMES } from '../inventory/types.js';
import { PROXMOX_NODE_HINT, PROXMOX_NODE_REFUSED } from '../inventory/check-hosts.js';
import type { IngressRule } from '../render/ingress-rules.js';
import { orderIngressRules, serviceUrl } from '../render/ingress-rules.js';
import { effectiveOriginRequest, tunnelConfigSettings } from '../render/tunnel-settings.js';
import type { Renderer } from '../render/templates.js';
import type { OriginView } from './types.js';
import { TUNNEL_ID_PLACEHOLDER } from './types.js';
import { checkOrigin } from './check-origin.js';
import { isProtected } from './protection.js';
import { withAccessCheck } from './connector-access.js';
import { connectorAccessChecks } from './plan-access.js';
import type { IpSource } from '../ports/proxmox.js';
import type { ActualState } from './actual-state.js';
import { MANAGED_PATHS } from './actual-state.js';
import { currentRulesFor, type UnresolvedGuest } from './unresolved-routes.js';

/** Shown where an address will only be known once Proxmox is read (`graph --offline`). */
export const DISCOVERED_AT_SYNC = '(discovered at sync)';

/** Where a route's traffic ends: a guest or host by address, or cloudflared itself on the connector. */
export type RouteOrigin =
  | { kind: 'guest'; name: string; type: GuestSpec['type']; vmid: number; node: string; address?: string; addressSource?: IpSource }
  | { kind: 'host'; name: string; address: string; proxmoxNode: boolean };

/** One ingress rule with everything a picture of the exposure needs. */
export interface Route {
  /** '' for a path rule that applies to every hostname of the tunnel. */
  hostname: string;
  path?: string;
  /** The cloudflared service; with an address not known yet, `scheme://(discovered at sync):port`. */
  service: string;
  /** false for services cloudflared answers itself (unix sockets, http_status, hello_world, bastion, socks). */
  network: boolean;
  origin: RouteOrigin;
  /** Requests must pass Cloudflare Access before they reach the origin. */
  protected: boolean;
  /** The originRequest cloudflared applies: the route's own keys over tunnel.originRequest. */
  originRequest: Record<string, unknown>;
  /** `guests[i].services[j]` or `hosts[i].services[j]` */
  field: string;
}

/** What the connector should look like, computed from the inventory and the facts read. Pure. */
export interface DesiredState {
  tunnelId: string;
  configYml: string;
  unitFile: string;
  hostnames: string[];
  origins: OriginView[];
  /** The same rules as `origins`, in ingress order, with their origin and protection (`proxflare graph`). */
  routes: Route[];
  /** The service of the last rule, for requests no route matches. */
  catchAll: string;
  warnings: string[];
  /** Problems that make the plan unsafe (refused origins); each names the field. */
  errors: string[];
  /** Guests whose address could not be read: their routes stay as they are (see unresolved-routes.ts). */
  unresolved: UnresolvedGuest[];
}

export interface DesiredOptions {
  /**
   * From the inventory alone: addresses that need Proxmox are left as DISCOVERED_AT_SYNC and no
   * config.yml is rendered (`proxflare graph --offline`). Never used for a plan.
   */
  offline?: boolean;
}

/** The address every network service of one guest or host goes to, or why there is none. */
type Resolved = { ok: true; address: string | undefined; source?: IpSource } | { ok: false };

export function computeDesired(inventory: Inventory, actual: ActualState, renderer: Renderer, options: DesiredOptions = {}): DesiredState {
  const errors: string[] = [];
  const warnings: string[] = [];
  const rules: IngressRule[] = [];
  const routeByRule = new Map<string, Omit<Route, 'hostname' | 'path' | 'service'>>();
  const at = (field: string) => inventory.positions.locate(field);
  const accessChecks = connectorAccessChecks(inventory, actual.access);
  const originContext = { nodeAddresses: actual.proxmox.nodeAddresses, allowLoopback: inventory.settings.allowLoopbackOrigins };
  const unresolved: UnresolvedGuest[] = [];
  const currentConfig = actual.host?.files.get(MANAGED_PATHS.config)?.content;
  /** A guest that could not be read keeps the rules the connector serves now for its hostnames. */
  const keepCurrent = (guest: Inventory['guests'][number], error: string): Resolved => {
    const hostnames = [...new Set(guest.services.map((s) => s.hostname))];
    const kept = currentRulesFor(currentConfig, new Set(hostnames));
    for (const rule of kept) {
      const service =
        guest.services.find((s) => s.hostname === rule.hostname && (s.path ?? '') === (rule.path ?? '')) ??
        guest.services.find((s) => s.hostname === rule.hostname)!;
      rules.push(rule);
      routeByRule.set(ruleKey(rule), {
        network: NETWORK_SCHEMES.has(service.scheme),
        origin: { kind: 'guest', name: guest.name, type: guest.type, vmid: guest.vmid, node: guest.node },
        protected: isProtected(service, inventory),
        field: service.field,
        originRequest: effectiveOriginRequest(inventory.tunnel.originRequest, service.originRequest),
      });
    }
    unresolved.push({ guest: guest.name, error, hostnames, kept: [...new Set(kept.map((r) => r.hostname))] });
    return { ok: false };
  };

  const addRoutes = (services: ServiceSpec[], origin: (resolved: Resolved & { ok: true }) => RouteOrigin, resolve: () => Resolved) => {
    const resolved: Resolved = services.some((s) => NETWORK_SCHEMES.has(s.scheme)) ? resolve() : { ok: true, address: undefined };
    if (!resolved.ok) return;
    for (const service of services) {
      const network = NETWORK_SCHEMES.has(service.scheme);
      const rule = withAccessCheck(toRule(service, network ? (resolved.address ?? DISCOVERED_AT_SYNC) : undefined), service, accessChecks);
      rules.push(rule);
      routeByRule.set(ruleKey(rule), {
        network,
        origin: origin(resolved),
        protected: isProtected(service, inventory),
        originRequest: effectiveOriginRequest(inventory.tunnel.originRequest, service.originRequest),
        field: service.field,
      });
    }
  };

  for (const guest of inventory.guests) {
    addRoutes(
      guest.services,
      (r) => ({
        kind: 'guest',
        name: guest.name,
        type: guest.type,
        vmid: guest.vmid,
        node: guest.node,
        ...(r.address ? { address: r.address } : {}),
        ...(r.source ? { addressSource: r.source } : {}),
      }),
      () => {
        const resolved = actual.proxmox.guestIps.get(guest.name);
        if (!resolved) {
          if (options.offline) return { ok: true, address: undefined };
          return keepCurrent(guest, `${at(guest.field)} guest "${guest.name}": no address was read for it`);
        }
        if (!resolved.ok) return keepCurrent(guest, `${at(guest.field)} ${resolved.error}`);
        const refused = checkOrigin(resolved.ip, originContext);
        if (refused) {
          errors.push(`${at(guest.field)} guest "${guest.name}" (${resolved.ip}, from ${resolved.source}): ${refused}`);
          return { ok: false };
        }
        return { ok: true, address: resolved.ip, source: resolved.source };
      },
    );
  }

  for (const host of inventory.hosts) {
    addRoutes(
      host.services,
      () => ({ kind: 'host', name: host.name, address: host.address, proxmoxNode: host.proxmoxNode }),
      () => {
        const refused = checkHostAddress(host, originContext);
        if (refused) {
          errors.push(`${at(`${host.field}.address`)} host "${host.name}": ${refused}`);
          return { ok: false };
        }
        return { ok: true, address: host.address };
      },
    );
  }

  warnings.push(...unprotectedNodeWarnings(inventory));

  const catchAll = inventory.tunnel.catchAll;
  const catchAllHost = /^[a-z][a-z0-9+.-]*:\/\/\[?([^/\]]+?)\]?(?::\d+)?$/i.exec(catchAll)?.[1];
  const catchAllRefused = catchAllHost ? checkOrigin(catchAllHost, originContext) : undefined;
  if (catchAllRefused && !/is not an IP address/.test(catchAllRefused))
    errors.push(`${at('tunnel.catchAll')} tunnel.catchAll: ${catchAllRefused}`);

  const ordered = orderIngressRules(rules);
  warnings.push(...ordered.shadowed, ...ordered.undecided);
  const origins: OriginView[] = [];
  const routes: Route[] = [];
  for (const rule of ordered.rules) {
    const route = routeByRule.get(ruleKey(rule))!;
    routes.push({ hostname: rule.hostname, ...(rule.path ? { path: rule.path } : {}), service: rule.service, ...route });
    const from = route.origin;
    const source = from.kind === 'guest' ? from.addressSource : undefined;
    origins.push({
      hostname: rule.hostname,
      ...(rule.path ? { path: rule.path } : {}),
      service: rule.service,
      ...(from.kind === 'guest' ? { guest: from.name } : { host: from.name }),
      ...(route.network && source ? { ipSource: source } : {}),
    });
  }

  const tunnelId = actual.tunnel?.id ?? TUNNEL_ID_PLACEHOLDER;
  const configYml =
    errors.length > 0 || options.offline
      ? ''
      : renderer.renderConfig({
          tunnelId,
          credentialsFile: MANAGED_PATHS.credentials,
          rules: ordered.rules,
          extra: tunnelConfigSettings(inventory.tunnel),
          catchAll,
        });
  const unitFile = renderer.renderUnit({ binary: MANAGED_PATHS.binary, configPath: MANAGED_PATHS.config });
  // A path rule without hostname has no DNS record of its own: it applies to the hostnames that do.
  const hostnames = [...new Set(rules.map((r) => r.hostname).filter((h) => h !== ''))].sort();
  if (hostnames.length === 0 && rules.length === 0) warnings.push(EMPTY_PUBLICATION);
  for (const u of unresolved)
    warnings.push(
      `${u.error} — not planned: ${u.hostnames.join(', ')}${u.kept.length > 0 ? ` (the connector keeps serving ${u.kept.join(', ')} as now)` : ''}; its DNS records are left as they are`,
    );
  return { tunnelId, configYml, unitFile, hostnames, origins, routes, catchAll, warnings, errors, unresolved };
}

/** The hypervisor's login page on the Internet without Access: allowed on purpose, never quietly. */
function unprotectedNodeWarnings(inventory: Inventory): string[] {
  const warnings: string[] = [];
  for (const host of inventory.hosts.filter((h) => h.proxmoxNode)) {
    for (const service of host.services) {
      if (isProtected(service, inventory)) continue;
      const name = service.hostname === '' ? `every hostname with path ${service.path}` : service.hostname;
      warnings.push(
        `${inventory.positions.locate(`${service.field}.hostname`)} ${name} publishes the Proxmox node ${host.name} (${host.address}) WITHOUT Access: ` +
          'anyone on the Internet reaches the hypervisor login. Protect it with Cloudflare Access.',
      );
    }
  }
  return warnings;
}

/**
 * A host's address is refused like a guest's (loopback, link-local, ...), and a Proxmox node's
 * address only passes with `proxmoxNode: true`. A DNS name is resolved by the connector, so only
 * `localhost` is judged here; the API host name itself is caught when the inventory is loaded.
 */
function checkHostAddress(host: HostSpec, context: { nodeAddresses: string[]; allowLoopback: boolean }): string | undefined {
  const address = host.address.replace(/\.$/, '');
  if (address === 'localhost') return checkOrigin('127.0.0.1', context)?.replace('127.0.0.1', 'localhost');
  if (!/^[0-9.]+$|:/.test(address)) return undefined;
  const refused = checkOrigin(address, host.proxmoxNode ? { ...context, nodeAddresses: [] } : context);
  if (refused && context.nodeAddresses.includes(address) && !host.proxmoxNode)
    return `${PROXMOX_NODE_REFUSED(address)} (${PROXMOX_NODE_HINT})`;
  return refused?.replaceAll("the guest's `ip`", "the host's `address`").replaceAll('the guest', 'the host');
}

function toRule(service: ServiceSpec, address: string | undefined): IngressRule {
  return {
    hostname: service.hostname,
    ...(service.path ? { path: service.path } : {}),
    service: serviceUrl(service, address),
    ...(service.originRequest && Object.keys(service.originRequest).length > 0 ? { originRequest: service.originRequest } : {}),
  };
}

function ruleKey(rule: IngressRule): string {
  return `${rule.hostname}\u0000${rule.path ?? ''}`;
}

/** Said by `validate` and by the plan: a connector and a tunnel that route nothing are most likely a mistake. */
export const EMPTY_PUBLICATION =
  'the inventory publishes no service: the tunnel and connector would route nothing (every request gets 404). Add services: under a guest.';
