import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import type { Inventory } from '../inventory/types.js';
import type { RemoteIngressRule } from '../ports/cloudflare.js';
import { parsePropertyString, parseRootfs } from '../core/pve-config.js';
import type { ConnectorLxcState, GuestSummary } from '../ports/proxmox.js';
import type { ExistingReplica, ExistingSetup } from './read-existing.js';

/** What import could not express in the inventory, said in the file and on stderr. */
export interface ImportResult {
  yaml: string;
  notes: string[];
}

const NETWORK = new Set(['http', 'https', 'tcp', 'ssh', 'rdp']);
const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443, ssh: 22, rdp: 3389 };
/** The remote config carries durations as integer seconds (cloudflare.md §2.2); the inventory as Go durations. */
const DURATION_KEYS = new Set(['connectTimeout', 'tlsTimeout', 'tcpKeepAlive', 'keepAliveTimeout', 'proxyConnectTimeout']);

interface Route {
  hostname: string;
  path?: string;
  scheme: string;
  port?: number;
  originRequest?: Record<string, unknown>;
}

/**
 * The inventory for an imported setup: commented, secrets as `${VAR}`, the schema line, each
 * origin under the Proxmox guest whose discovered address it is, or as a `hosts:` entry. Pure.
 * The connection settings (Proxmox, Cloudflare, SSH) come from `base`, the inventory import ran with.
 */
export function writeImportedInventory(base: Inventory, setup: ExistingSetup): ImportResult {
  const notes: string[] = [];
  const byGuest = new Map<GuestSummary, Route[]>();
  const byHost = new Map<string, Route[]>();
  let catchAll: string | undefined;
  for (const rule of setup.ingress) {
    if (!rule.hostname && !rule.path) {
      if (rule.service !== 'http_status:404') catchAll = rule.service;
      continue;
    }
    let url: URL;
    try {
      url = new URL(rule.service);
    } catch {
      notes.push(`${rule.hostname ?? rule.path}: service ${rule.service} is not an address; add it by hand`);
      continue;
    }
    const scheme = url.protocol.replace(/:$/, '');
    if (!NETWORK.has(scheme) || !rule.hostname) {
      notes.push(
        `${rule.hostname ?? `path ${rule.path}`}: ${rule.service} was not imported (only network origins on a hostname are); add it by hand`,
      );
      continue;
    }
    const address = url.hostname.replace(/^\[|\]$/g, '');
    const route: Route = {
      hostname: rule.hostname.toLowerCase(),
      ...(rule.path ? { path: rule.path } : {}),
      scheme,
      ...(url.port ? { port: Number(url.port) } : DEFAULT_PORT[scheme] ? { port: DEFAULT_PORT[scheme] } : {}),
      ...(rule.originRequest && Object.keys(rule.originRequest).length > 0 ? { originRequest: durations(rule.originRequest) } : {}),
    };
    const guest = setup.guests.find((g) => g.ip === address);
    if (guest) byGuest.set(guest, [...(byGuest.get(guest) ?? []), route]);
    else byHost.set(address, [...(byHost.get(address) ?? []), route]);
  }

  const routed = new Set(setup.ingress.map((r) => r.hostname?.toLowerCase()).filter(Boolean));
  for (const r of setup.records)
    if (!routed.has(r.name)) notes.push(`dns/${r.name} points at the tunnel but no ingress rule serves it; it is left out`);

  const connectorGuest = setup.connector ? lxcAt(setup.guests, setup.connector.address) : undefined;
  const zones = [...new Set([...setup.records.map((r) => r.zoneName), ...base.cloudflare.zones])];
  const doc = {
    proxmox: {
      url: base.proxmox.url,
      tokenId: '${PVE_TOKEN_ID}',
      tokenSecret: '${PVE_TOKEN_SECRET}',
      ...(base.proxmox.fingerprint ? { fingerprint: base.proxmox.fingerprint } : {}),
      ...(base.proxmox.insecure ? { insecure: true } : {}),
      node: base.proxmox.node,
    },
    cloudflare: {
      apiToken: '${CLOUDFLARE_API_TOKEN}',
      accountId: base.cloudflare.accountId,
      ...(zones.length === 1 ? { zone: zones[0] } : { zones }),
      ...(base.cloudflare.baseUrl ? { baseUrl: base.cloudflare.baseUrl } : {}),
    },
    tunnel: {
      name: setup.tunnel.name,
      ...(catchAll ? { catchAll } : {}),
      ...(setup.originRequest ? { originRequest: durations(setup.originRequest) } : {}),
    },
    connector: setup.replicas
      ? replicasConnector(base, setup.replicas, setup.guests, notes)
      : {
          hostname: connectorGuest?.name ?? base.connector.hostname,
          ...(connectorGuest ? { vmid: connectorGuest.vmid } : {}),
          template: base.connector.template,
          ...(setup.connectorLxc ? lxcSettings(setup.connectorLxc) : { storage: base.connector.storage }),
          ssh: sshSettings(base, setup.connector ? setup.connector.address : base.connector.ssh.host),
          cloudflared: cloudflaredSource(base),
        },
    ...(base.settings.allowLoopbackOrigins ? { settings: { allowLoopbackOrigins: true } } : {}),
    guests: [...byGuest.entries()].map(([g, routes]) => ({
      name: g.name,
      type: g.type,
      vmid: g.vmid,
      ...(g.node !== base.proxmox.node ? { node: g.node } : {}),
      services: routes.map(service),
    })),
    hosts: [...byHost.entries()].map(([address, routes]) => ({ name: hostName(address), address, services: routes.map(service) })),
  };
  if (doc.guests.length === 0) delete (doc as Partial<typeof doc>).guests;
  if (doc.hosts.length === 0) delete (doc as Partial<typeof doc>).hosts;

  const c = setup.connector;
  const header = [
    '# yaml-language-server: $schema=./inventory.schema.json',
    `# Imported by \`proxflare import --tunnel ${setup.tunnel.name}\` from what runs today:`,
    `#   tunnel ${setup.tunnel.id} (${setup.tunnel.configSrc === 'cloudflare' ? 'remotely managed: ingress read from Cloudflare' : `locally managed: ingress read from ${c?.configPath ?? 'config.yml'}`})`,
    ...(setup.replicas?.map((r) => r.connector) ?? (c ? [c] : [])).map((r) => `#   connector ${r.address}: ${describeConnector(r)}`),
    `#   ${setup.records.length} DNS record${setup.records.length === 1 ? '' : 's'} pointing at the tunnel, not yet marked as proxflare's`,
    '# Nothing is changed until you run sync. `proxflare sync --dry-run` lists what would be adopted;',
    '# `proxflare sync --adopt` takes it over (the connector then runs from credentials + config.yml,',
    '# validated before the restart; the tunnel id stays the same).',
    '# Secrets stay in the environment or .env: PVE_TOKEN_ID, PVE_TOKEN_SECRET, CLOUDFLARE_API_TOKEN.',
    ...notes.map((n) => `# NOTE: ${n}`),
    '',
  ];
  return { yaml: `${header.join('\n')}${stringify(doc, { lineWidth: 0 })}`, notes };
}

/**
 * The connector section for several replicas: the shared settings are the first replica's LXC's,
 * each replica keeps what the schema lets it keep on its own (node, vmid, storage, network, sshHost).
 */
function replicasConnector(base: Inventory, replicas: ExistingReplica[], guests: GuestSummary[], notes: string[]): Record<string, unknown> {
  const shared = replicas[0]!.lxc ? lxcSettings(replicas[0]!.lxc) : { storage: base.connector.storage };
  const names = replicas.map(
    (r, i) => lxcAt(guests, r.connector.address)?.name ?? `${base.connector.hostname}${i === 0 ? '' : `-${i + 1}`}`,
  );
  const label = (i: number) => `replica ${names[i]} (${replicas[i]!.connector.address})`;
  const entries = replicas.map((r, i) => {
    const guest = lxcAt(guests, r.connector.address);
    const own = r.lxc ? lxcSettings(r.lxc) : undefined;
    if (!guest) notes.push(`${label(i)}: no Proxmox LXC has this address; it is reached by sshHost, and sync would create lxc/${names[i]}`);
    const differing = own ? Object.keys(own).filter((k) => !PER_REPLICA.has(k) && !isDeepStrictEqual(own[k], shared[k])) : [];
    if (differing.length > 0)
      notes.push(
        `${label(i)}: ${differing.map((k) => `${k} ${JSON.stringify(own![k])}`).join(', ')} here, but the shared connector settings are ${names[0]}'s; sync --dry-run shows what that changes`,
      );
    if (r.configDiffers) notes.push(`${label(i)}: its config.yml serves another ingress than ${label(0)}'s; ${names[0]}'s is imported`);
    return replicaEntry(base, names[i]!, guest, own, shared, r.connector.address);
  });
  return {
    template: base.connector.template,
    ...shared,
    ssh: sshSettings(base, undefined),
    cloudflared: cloudflaredSource(base),
    replicas: entries,
  };
}

function replicaEntry(
  base: Inventory,
  hostname: string,
  guest: GuestSummary | undefined,
  own: Record<string, unknown> | undefined,
  shared: Record<string, unknown>,
  address: string,
): Record<string, unknown> {
  const network = own?.['network'] as Record<string, unknown> | undefined;
  // A static address cannot be shared, so then every replica names its own network.
  const ownNetwork = network && (!isDeepStrictEqual(network, shared['network']) || network['ip'] !== 'dhcp');
  return {
    hostname,
    ...(guest && guest.node !== base.proxmox.node ? { node: guest.node } : {}),
    ...(guest ? { vmid: guest.vmid } : {}),
    ...(own && own['storage'] !== shared['storage'] ? { storage: own['storage'] } : {}),
    ...(ownNetwork ? { network } : {}),
    // Without an LXC at that address sync cannot discover it, so the address import was given is the way in.
    ...(guest ? {} : { sshHost: address }),
  };
}

/** Replica keys the schema takes per replica; the rest of an LXC's settings are shared. */
const PER_REPLICA = new Set(['storage', 'network']);

function lxcAt(guests: GuestSummary[], address: string): GuestSummary | undefined {
  return guests.find((g) => g.type === 'lxc' && g.ip === address);
}

function sshSettings(base: Inventory, host: string | undefined): Record<string, unknown> {
  return {
    user: base.connector.ssh.user,
    ...(host ? { host } : {}),
    port: base.connector.ssh.port,
    privateKey: base.connector.ssh.privateKey,
    knownHosts: base.connector.ssh.knownHosts,
  };
}

function cloudflaredSource(base: Inventory): Record<string, unknown> {
  return base.connector.cloudflared.type === 'deb' ? { source: 'deb', path: base.connector.cloudflared.path } : { source: 'apt' };
}

/** The container's own settings, so the plan finds nothing to change in it but our tag. */
function lxcSettings(c: ConnectorLxcState): Record<string, unknown> {
  const rootfs = parseRootfs(c.config.rootfs);
  const net = parsePropertyString(c.config.net0);
  return {
    storage: rootfs.storage,
    ...(rootfs.sizeGiB !== undefined ? { disk: rootfs.sizeGiB } : {}),
    memory: c.config.memory,
    swap: c.config.swap,
    ...(c.config.cores > 0 ? { cores: c.config.cores } : {}),
    onboot: c.config.onboot,
    network: {
      bridge: net['bridge'] ?? 'vmbr0',
      ip: net['ip'] ?? 'dhcp',
      ...(net['gw'] ? { gw: net['gw'] } : {}),
      ...(net['tag'] ? { vlan: Number(net['tag']) } : {}),
    },
  };
}

function service(r: Route): Record<string, unknown> {
  return {
    hostname: r.hostname,
    ...(r.port !== undefined ? { port: r.port } : {}),
    ...(r.scheme !== 'http' ? { scheme: r.scheme } : {}),
    ...(r.path ? { path: r.path } : {}),
    ...(r.originRequest ? { originRequest: r.originRequest } : {}),
  };
}

function durations(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, DURATION_KEYS.has(k) && typeof v === 'number' ? `${v}s` : v]));
}

function hostName(address: string): string {
  return `host-${address.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

function describeConnector(c: NonNullable<ExistingSetup['connector']>): string {
  const how = c.invocation?.tokenFile
    ? `token file ${c.invocation.tokenFile} (cloudflared service install)`
    : c.invocation?.inlineToken
      ? 'a token on the ExecStart line'
      : c.configPath
        ? `config ${c.configPath}`
        : 'no cloudflared unit found';
  return `cloudflared ${c.cloudflaredVersion ?? '(not installed)'}, ${c.unit ? `${c.unit.path} (${c.unit.active ? 'running' : 'stopped'})` : 'no unit'}, ${how}${c.updateTimer ? ', cloudflared-update.timer present' : ''}`;
}

export type { RemoteIngressRule };
