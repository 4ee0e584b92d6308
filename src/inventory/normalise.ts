import { isAbsolute, resolve } from 'node:path';
import { Secret } from '../core/secret.js';
import { parseHostname, parseZone } from './hostnames.js';
import type { InventoryInput, ServiceInput } from './schema.js';
import type { SourceMap } from './source-map.js';
import type { CloudflaredSource, ConnectorSpec, Inventory, NetworkSpec, Scheme, ServiceSpec, TunnelSettings } from './types.js';
import { normaliseAccess, normaliseServiceAccess } from './access-normalise.js';

export interface NormaliseContext {
  /** Absolute path of the inventory file. */
  file: string;
  positions: SourceMap;
  warnings: string[];
  home: string;
}

/** Turns schema-valid, cross-checked input into the Inventory every other module uses. */
export function normaliseInventory(input: InventoryInput, ctx: NormaliseContext): Inventory {
  const baseDir = resolve(ctx.file, '..');
  const localPath = (path: string): string => {
    const expanded = path === '~' ? ctx.home : path.startsWith('~/') ? resolve(ctx.home, path.slice(2)) : path;
    // Relative paths are relative to the inventory, not to wherever proxflare was started.
    return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
  };
  const { proxmox, cloudflare, connector, settings } = input;
  const url = new URL(proxmox.url);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port === '' ? 8006 : Number(url.port);
  const zones = (cloudflare.zones ?? [cloudflare.zone ?? '']).map((z) => parseZone(z) ?? z.toLowerCase());

  const network = normaliseNetwork(connector.network);
  const cloudflared: CloudflaredSource =
    connector.cloudflared.source === 'deb'
      ? { type: 'deb', path: localPath(connector.cloudflared.path ?? ''), ...optional('version', connector.cloudflared.version) }
      : { type: 'apt', ...optional('version', connector.cloudflared.version) };
  const privateKey = localPath(connector.ssh.privateKey);
  const jump = connector.ssh.jump;

  const base: ConnectorSpec = {
    hostname: connector.hostname.toLowerCase(),
    node: connector.node ?? proxmox.node,
    ...optional('vmid', connector.vmid),
    template: connector.template,
    storage: connector.storage,
    disk: connector.disk,
    memory: connector.memory,
    swap: connector.swap,
    cores: connector.cores,
    onboot: connector.onboot,
    network,
    ssh: {
      user: connector.ssh.user,
      port: connector.ssh.port,
      privateKey,
      publicKey: connector.ssh.publicKey ? localPath(connector.ssh.publicKey) : `${privateKey}.pub`,
      knownHosts: localPath(connector.ssh.knownHosts),
      trustOnFirstUse: connector.ssh.trustOnFirstUse,
      ...optional('host', connector.ssh.host),
      ...(jump ? { jump: { host: jump.host, port: jump.port, user: jump.user } } : {}),
    },
    cloudflared,
    tag: connector.tag,
    healthTimeoutSeconds: connector.healthTimeout,
  };
  const connectors: ConnectorSpec[] = connector.replicas
    ? connector.replicas.map((replica, i) => ({
        ...base,
        hostname: replica.hostname.toLowerCase(),
        node: replica.node ?? base.node,
        ...(replica.vmid !== undefined ? { vmid: replica.vmid } : { vmid: undefined }),
        storage: replica.storage ?? base.storage,
        network: replica.network ? normaliseNetwork(replica.network) : base.network,
        ssh: { ...base.ssh, ...optional('host', replica.sshHost) },
        standby: replica.standby,
        field: `connector.replicas[${i}]`,
      }))
    : [{ ...base, field: 'connector' }];
  for (const c of connectors) if (c.vmid === undefined) delete c.vmid;

  return {
    file: ctx.file,
    proxmox: {
      url: `${protocol}://${url.hostname}:${port}`,
      host: url.hostname,
      port,
      protocol,
      tokenId: proxmox.tokenId,
      tokenSecret: new Secret(proxmox.tokenSecret),
      ...optional('fingerprint', proxmox.fingerprint && normaliseFingerprint(proxmox.fingerprint)),
      insecure: proxmox.insecure,
      node: proxmox.node,
      concurrency: proxmox.concurrency,
    },
    cloudflare: {
      apiToken: new Secret(cloudflare.apiToken),
      accountId: cloudflare.accountId.toLowerCase(),
      zones,
      ...optional('baseUrl', cloudflare.baseUrl),
    },
    tunnel: normaliseTunnel(input.tunnel),
    connector: connectors[0]!,
    connectors,
    guests: input.guests.map((guest, i) => ({
      name: guest.name,
      type: guest.type,
      vmid: guest.vmid,
      node: guest.node ?? proxmox.node,
      ...optional('ip', guest.ip),
      ...optional('interface', guest.interface),
      field: `guests[${i}]`,
      services: guest.services.map((service, j) => normaliseService(service, `guests[${i}].services[${j}]`)),
    })),
    hosts: input.hosts.map((host, i) => ({
      name: host.name,
      address: host.address.toLowerCase(),
      proxmoxNode: host.proxmoxNode,
      field: `hosts[${i}]`,
      services: host.services.map((service, j) => normaliseService(service, `hosts[${i}].services[${j}]`)),
    })),
    settings: {
      allowLoopbackOrigins: settings.allowLoopbackOrigins,
      maxDeletes: settings.maxDeletes,
      ...optional('ownerComment', settings.ownerComment),
    },
    ...optional('access', input.access && normaliseAccess(input.access, localPath)),
    positions: ctx.positions,
    warnings: ctx.warnings,
  };
}

function normaliseNetwork(network: InventoryInput['connector']['network']): NetworkSpec {
  return network.ip === 'dhcp'
    ? { bridge: network.bridge, ip: 'dhcp', ...optional('vlan', network.vlan) }
    : { bridge: network.bridge, ip: network.ip, ...optional('gw', network.gw), ...optional('vlan', network.vlan) };
}

function normaliseService(service: ServiceInput, field: string): ServiceSpec {
  const hostname = service.hostname ?? '';
  const parsed = parseHostname(hostname);
  return {
    hostname: hostname === '' ? '' : parsed.ok ? parsed.hostname : hostname.toLowerCase(),
    scheme: service.scheme as Scheme,
    ...optional('port', service.port),
    ...optional('path', service.path),
    ...optional('socket', service.socket),
    ...optional('status', service.status),
    ...optional('originRequest', service.originRequest as Record<string, unknown> | undefined),
    ...optional('access', normaliseServiceAccess(service.access, `${field}.access`)),
    field,
  };
}

function normaliseTunnel(tunnel: InventoryInput['tunnel']): TunnelSettings {
  return {
    name: tunnel.name,
    ...optional('protocol', tunnel.protocol),
    // YAML reads `edgeIpVersion: 4` as a number; cloudflared's flag is the string "4".
    ...optional(
      'edgeIpVersion',
      tunnel.edgeIpVersion === undefined ? undefined : (String(tunnel.edgeIpVersion) as TunnelSettings['edgeIpVersion']),
    ),
    ...optional('logLevel', tunnel.logLevel),
    ...optional('gracePeriod', tunnel.gracePeriod),
    ...optional('retries', tunnel.retries),
    ...optional('originRequest', tunnel.originRequest as Record<string, unknown> | undefined),
    catchAll: typeof tunnel.catchAll === 'number' ? `http_status:${tunnel.catchAll}` : tunnel.catchAll,
  };
}

/** `aabb…` or `aa:bb:…` → `AA:BB:…` (the form Node's fingerprint256 and pvenode print). */
export function normaliseFingerprint(text: string): string {
  const hex = text.replace(/:/g, '').toUpperCase();
  return hex.match(/.{2}/g)!.join(':');
}

/** Spreads `{ key: value }` only when the value is set, so optional fields stay absent instead of `undefined` (clean equality and JSON). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: V };
}
