import { isIP, isIPv4 } from 'node:net';
import { compileGoRegexp } from '../ingress/go-regexp.js';
import { checkAccess } from './access-checks.js';
import { depthBelowZone, isDnsLabel, parseHostname, parseZone, zoneOf } from './hostnames.js';
import type { IssueSink } from './issue-sink.js';
import { ipv4InSubnet, parseIpv4Cidr } from './network.js';
import { childField } from './source-map.js';
import { checkHosts } from './check-hosts.js';
import { checkHostnameless, checkServiceType, checkTunnelDefaults } from './service-rules.js';

/**
 * Rules that span fields or need more than a regex. They run on the raw data even
 * when the schema found problems, so one run reports everything; anything of the
 * wrong type is skipped here because the schema already reports it.
 */
export function checkInventory(raw: Record<string, unknown>, sink: IssueSink, interpolated: ReadonlySet<string>): void {
  const proxmox = record(raw.proxmox);
  const cloudflare = record(raw.cloudflare);
  if (proxmox) checkProxmox(proxmox, sink, interpolated);
  const zones = cloudflare ? checkCloudflare(cloudflare, sink, interpolated) : [];
  const tunnel = record(raw.tunnel);
  if (tunnel) {
    checkTunnel(tunnel, sink);
    checkTunnelDefaults(tunnel, sink);
  }
  const connector = record(raw.connector);
  if (connector) checkConnector(connector, sink);
  if (connector && Array.isArray(connector.replicas)) checkReplicas(connector, connector.replicas, proxmox, sink);
  const settings = record(raw.settings);
  if (settings && typeof settings.ownerComment === 'string' && /[\r\n]/.test(settings.ownerComment)) {
    sink.error('settings.ownerComment', 'must be a single line', 'DNS record comments cannot contain line breaks');
  }
  const seen: SeenNames = { names: new Map(), routes: new Map() };
  if (Array.isArray(raw.guests)) checkGuests(raw.guests, connector, zones, sink, seen);
  if (Array.isArray(raw.hosts)) {
    const proxmoxHost = typeof proxmox?.url === 'string' ? parseUrl(proxmox.url)?.hostname : undefined;
    checkHosts(raw.hosts, sink, seen.names, (service, field) => checkService(service, field, zones, seen.routes, sink), proxmoxHost);
  }
  checkAccess(raw, sink);
  warnEmptyPublication(raw, sink);
}

/** Nothing to publish validates, but plans an LXC and a tunnel that route nothing: say so. */
function warnEmptyPublication(raw: Record<string, unknown>, sink: IssueSink): void {
  const lists = [raw.guests, raw.hosts].filter(Array.isArray).flat() as unknown[];
  const services = lists.reduce<number>(
    (n, g) => n + (Array.isArray(record(g)?.services) ? (record(g)!.services as unknown[]).length : 0),
    0,
  );
  if (services > 0) return;
  const field = 'guests' in raw ? 'guests' : '';
  sink.warn(
    field,
    lists.length === 0
      ? 'no guests: nothing is published, the tunnel and connector would route nothing; add guests with services'
      : 'no guest has services: nothing is published, the tunnel and connector would route nothing; add services: to a guest',
  );
}

/** Names are unique across guests and hosts; a hostname+path routes to one service across both. */
interface SeenNames {
  names: Map<string, string>;
  routes: Map<string, string>;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

const SECRET_FIELDS = [
  ['proxmox.tokenSecret', 'PVE_TOKEN_SECRET'],
  ['cloudflare.apiToken', 'CLOUDFLARE_API_TOKEN'],
] as const;

function warnInlineSecret(field: string, value: unknown, sink: IssueSink, interpolated: ReadonlySet<string>): void {
  const variable = SECRET_FIELDS.find(([f]) => f === field)?.[1];
  if (typeof value === 'string' && value !== '' && !interpolated.has(field) && variable) {
    sink.warn(
      field,
      `the secret is written in the inventory; move it to .env and write \${${variable}} so it stays out of version control`,
    );
  }
}

function checkProxmox(proxmox: Record<string, unknown>, sink: IssueSink, interpolated: ReadonlySet<string>): void {
  warnInlineSecret('proxmox.tokenSecret', proxmox.tokenSecret, sink, interpolated);
  if (typeof proxmox.url === 'string') {
    const url = parseUrl(proxmox.url);
    const hint = 'write the API address like https://pve.lan:8006';
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      sink.error('proxmox.url', 'is not an http(s) URL', hint);
    } else if (url.username || url.password) {
      sink.error('proxmox.url', 'must not contain credentials', 'use tokenId and tokenSecret for authentication');
    } else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      sink.error('proxmox.url', 'must not contain a path', `${hint}; proxflare adds /api2/json itself`);
    } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      sink.warn('proxmox.url', 'uses plain http: the API token travels unencrypted (Proxmox serves https on 8006)');
    }
  }
  if (proxmox.insecure === true) {
    sink.warn(
      'proxmox.insecure',
      proxmox.fingerprint === undefined
        ? 'TLS verification of the Proxmox API is OFF; pin the certificate with `fingerprint` instead (pvenode cert info)'
        : 'insecure: true disables the fingerprint pin too; remove it to keep the pin',
    );
  }
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function checkCloudflare(cloudflare: Record<string, unknown>, sink: IssueSink, interpolated: ReadonlySet<string>): string[] {
  warnInlineSecret('cloudflare.apiToken', cloudflare.apiToken, sink, interpolated);
  if (typeof cloudflare.baseUrl === 'string') {
    const url = parseUrl(cloudflare.baseUrl);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      sink.error('cloudflare.baseUrl', 'is not an http(s) URL', 'leave it out to use https://api.cloudflare.com/client/v4');
    }
  }
  const hasZone = cloudflare.zone !== undefined;
  const hasZones = cloudflare.zones !== undefined;
  if (hasZone && hasZones) {
    sink.error(
      'cloudflare.zones',
      'set either `zone` or `zones`, not both',
      'move the single zone into the `zones` list and remove `zone`',
    );
  } else if (!hasZone && !hasZones) {
    sink.error('cloudflare.zone', 'is required', 'add `zone: example.com` (or `zones: [a.com, b.org]`) under cloudflare');
  }
  const zones: string[] = [];
  const addZone = (field: string, value: unknown): void => {
    if (typeof value !== 'string') return;
    const zone = parseZone(value);
    if (!zone) {
      sink.error(field, `"${value}" is not a valid zone name`, 'write the domain as shown in the Cloudflare dashboard, e.g. example.com');
    } else if (!zones.includes(zone)) {
      zones.push(zone);
    }
  };
  addZone('cloudflare.zone', cloudflare.zone);
  if (Array.isArray(cloudflare.zones)) cloudflare.zones.forEach((z, i) => addZone(`cloudflare.zones[${i}]`, z));
  return zones;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkTunnel(tunnel: Record<string, unknown>, sink: IssueSink): void {
  if (typeof tunnel.name !== 'string') return;
  if (UUID.test(tunnel.name)) {
    sink.error('tunnel.name', 'must not be a UUID', 'cloudflared treats UUIDs as tunnel ids; pick a name like homelab');
  } else if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(tunnel.name)) {
    sink.error(
      'tunnel.name',
      `"${tunnel.name}" is not a valid tunnel name`,
      'use up to 63 letters, digits, dots, dashes or underscores, e.g. homelab',
    );
  }
}

function checkConnector(connector: Record<string, unknown>, sink: IssueSink): void {
  if (typeof connector.hostname === 'string' && !isDnsLabel(connector.hostname)) {
    sink.error(
      'connector.hostname',
      `"${connector.hostname}" is not a valid hostname label`,
      'use one DNS label (letters, digits, inner hyphens, at most 63), e.g. cloudflared',
    );
  }
  const network = record(connector.network);
  if (network) checkNetwork(network, sink);
  const cloudflared = record(connector.cloudflared);
  if (cloudflared) {
    const source = cloudflared.source ?? 'apt';
    if (source === 'deb' && cloudflared.path === undefined) {
      sink.error(
        'connector.cloudflared.path',
        'is required when source is deb',
        'set `path:` to the local cloudflared .deb file to upload',
      );
    }
    if (source === 'apt' && cloudflared.path !== undefined) {
      sink.error(
        'connector.cloudflared.path',
        'is only used with `source: deb`',
        'add `source: deb` to install from this file, or remove `path`',
      );
    }
  }
  const ssh = record(connector.ssh);
  const jump = ssh ? record(ssh.jump) : undefined;
  if (jump && typeof jump.host === 'string' && /[\s@]/.test(jump.host)) {
    sink.error(
      'connector.ssh.jump.host',
      'must be a plain host name or address',
      'put the user in `jump.user` and the port in `jump.port`',
    );
  }
}

/**
 * Replicas are told apart by hostname (their resources are `lxc/<hostname>`, `file:<hostname>:...`).
 * Two on one node still go down together with it, which defeats their purpose: warned, not refused.
 */
function checkReplicas(
  connector: Record<string, unknown>,
  replicas: unknown[],
  proxmox: Record<string, unknown> | undefined,
  sink: IssueSink,
): void {
  const hostnames = new Map<string, number>();
  const vmids = new Map<number, number>();
  const nodes = new Map<string, string[]>();
  let serving = 0;
  const fallbackNode = typeof connector.node === 'string' ? connector.node : typeof proxmox?.node === 'string' ? proxmox.node : undefined;
  replicas.forEach((value, i) => {
    const replica = record(value);
    if (!replica) return;
    const field = `connector.replicas[${i}]`;
    if (typeof replica.hostname === 'string') {
      const name = replica.hostname.toLowerCase();
      if (!isDnsLabel(name)) {
        sink.error(`${field}.hostname`, `"${replica.hostname}" is not a valid hostname label`, 'use one DNS label, e.g. cloudflared-1');
      }
      const first = hostnames.get(name);
      if (first !== undefined)
        sink.error(`${field}.hostname`, `"${name}" is also connector.replicas[${first}]`, 'give every replica its own hostname');
      else hostnames.set(name, i);
      const node = typeof replica.node === 'string' ? replica.node : fallbackNode;
      if (node) nodes.set(node, [...(nodes.get(node) ?? []), name]);
    }
    if (typeof replica.vmid === 'number') {
      const first = vmids.get(replica.vmid);
      if (first !== undefined)
        sink.error(
          `${field}.vmid`,
          `vmid ${replica.vmid} is also connector.replicas[${first}]`,
          'give every replica its own vmid, or leave it out',
        );
      else vmids.set(replica.vmid, i);
    }
    if (replica.standby !== true) serving++;
    const network = record(replica.network);
    if (network) checkNetwork(network, sink, `${field}.network`);
  });
  for (const [node, names] of nodes) {
    if (names.length > 1) {
      sink.warn(
        'connector.replicas',
        `replicas ${names.join(', ')} all run on node ${node}: a reboot of ${node} takes them down together; put them on different nodes`,
      );
    }
  }
  if (serving === 0 && replicas.length > 0) {
    sink.error(
      'connector.replicas',
      'every replica is a standby: no cloudflared would serve the tunnel',
      'set `standby: false` (or leave it out) on at least one replica',
    );
  }
  const ssh = record(connector.ssh);
  if (replicas.length > 1 && typeof ssh?.host === 'string') {
    sink.error('connector.ssh.host', 'is one address, but there are several replicas', 'set `sshHost:` on each replica instead');
  }
  const network = record(connector.network);
  if (
    replicas.length > 1 &&
    typeof network?.ip === 'string' &&
    network.ip !== 'dhcp' &&
    replicas.some((r) => !record(record(r)?.network))
  ) {
    sink.error(
      'connector.network.ip',
      'a static address cannot be shared by several replicas',
      'give each replica its own `network:`, or use dhcp',
    );
  }
}

function checkNetwork(network: Record<string, unknown>, sink: IssueSink, at = 'connector.network'): void {
  const ip = network.ip ?? 'dhcp';
  if (typeof ip !== 'string') return;
  if (ip === 'dhcp') {
    if (network.gw !== undefined)
      sink.error(`${at}.gw`, 'is only used with a static ip', 'remove `gw`, or set `ip:` to an address like 192.168.1.50/24');
    return;
  }
  const cidr = parseIpv4Cidr(ip);
  if (!cidr) {
    sink.error(
      `${at}.ip`,
      `"${ip}" is neither dhcp nor an IPv4 address with prefix length`,
      isIPv4(ip) ? `add the prefix length, e.g. ${ip}/24` : 'write `dhcp` or an address like 192.168.1.50/24',
    );
    return;
  }
  if (typeof network.gw === 'string') {
    if (!isIPv4(network.gw)) {
      sink.error(`${at}.gw`, `"${network.gw}" is not an IPv4 address`, 'write the router address, e.g. 192.168.1.1');
    } else if (!ipv4InSubnet(network.gw, cidr)) {
      sink.error(
        `${at}.gw`,
        `gateway ${network.gw} is outside ${ip}`,
        "the gateway must be in the connector's subnet; check the prefix length",
      );
    }
  }
}

const DNS_NAME = /^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;

function checkGuests(
  guests: unknown[],
  connector: Record<string, unknown> | undefined,
  zones: string[],
  sink: IssueSink,
  seen: SeenNames,
): void {
  const { names, routes } = seen;
  const vmids = new Map<number, string>();
  if (connector && typeof connector.vmid === 'number') vmids.set(connector.vmid, 'connector.vmid');

  guests.forEach((value, i) => {
    const guest = record(value);
    const field = `guests[${i}]`;
    if (!guest) return;
    if (typeof guest.name === 'string' && guest.name !== '') {
      if (!DNS_NAME.test(guest.name)) {
        sink.error(
          `${field}.name`,
          `"${guest.name}" is not a valid guest name`,
          'Proxmox names are DNS names: letters, digits, hyphens and dots',
        );
      }
      const key = guest.name.toLowerCase();
      const first = names.get(key);
      if (first) {
        sink.error(
          `${field}.name`,
          `guest name "${guest.name}" is already used by ${first} (${sink.locate(`${first}.name`)})`,
          'give every guest and host its own name',
        );
      } else {
        names.set(key, field);
      }
    }
    if (typeof guest.vmid === 'number') {
      const first = vmids.get(guest.vmid);
      if (first) {
        const firstField = first === 'connector.vmid' ? first : `${first}.vmid`;
        sink.error(
          `${field}.vmid`,
          `vmid ${guest.vmid} is already used by ${first} (${sink.locate(firstField)})`,
          'each guest has its own vmid; check the ids in Proxmox',
        );
      } else {
        vmids.set(guest.vmid, field);
      }
    }
    if (typeof guest.ip === 'string' && isIP(guest.ip) === 0) {
      sink.error(
        `${field}.ip`,
        `"${guest.ip}" is not an IP address`,
        guest.ip.includes('/')
          ? `write the address without the prefix length: ${guest.ip.split('/')[0]}`
          : 'write an address like 192.168.1.20, or leave `ip` out to discover it',
      );
    }
    if (Array.isArray(guest.services)) {
      guest.services.forEach((service, j) => {
        const s = record(service);
        if (s) checkService(s, childField(`${field}.services`, j), zones, routes, sink);
      });
    }
  });
}

function checkService(
  service: Record<string, unknown>,
  field: string,
  zones: string[],
  routes: Map<string, string>,
  sink: IssueSink,
): void {
  checkHostnameless(service, field, sink);
  if (service.hostname === undefined && typeof service.path === 'string') {
    const first = routes.get(`\u0000${service.path}`);
    if (first) {
      sink.error(
        `${field}.path`,
        `a route for every hostname with path ${service.path} is already defined by ${first} (${sink.locate(`${first}.path`)})`,
        'remove one of them',
      );
    } else {
      routes.set(`\u0000${service.path}`, field);
    }
  }
  if (typeof service.hostname === 'string') {
    const parsed = parseHostname(service.hostname);
    if (!parsed.ok) {
      sink.error(`${field}.hostname`, parsed.message, parsed.hint);
    } else {
      const routeKey = `${parsed.hostname}\u0000${typeof service.path === 'string' ? service.path : ''}`;
      const first = routes.get(routeKey);
      if (first) {
        sink.error(
          `${field}.hostname`,
          `hostname ${parsed.hostname}${typeof service.path === 'string' ? ` with path ${service.path}` : ''} is already used by ${first} (${sink.locate(`${first}.hostname`)})`,
          'each public hostname routes to one service; remove one, or give them different `path:` values',
        );
      } else {
        routes.set(routeKey, field);
      }
      if (zones.length > 0) {
        const zone = zoneOf(parsed.hostname, zones);
        if (!zone) {
          sink.error(
            `${field}.hostname`,
            `hostname ${parsed.hostname} is not in ${zones.length === 1 ? `the zone ${zones[0]}` : `any of the zones ${zones.join(', ')}`}`,
            `use a name ending in .${zones[0]}, or add its zone to cloudflare.zones`,
          );
        } else if (depthBelowZone(parsed.hostname, zone) > 1) {
          sink.warn(
            `${field}.hostname`,
            `${parsed.hostname} is more than one level below ${zone}: Cloudflare's free Universal SSL certificate covers only one level (*.${zone}), so browsers will get a certificate error unless you buy an advanced certificate`,
          );
        }
      }
    }
  }
  if (typeof service.path === 'string' && service.path !== '') {
    const compiled = compileGoRegexp(service.path);
    if (!compiled.ok) {
      sink.error(
        `${field}.path`,
        `is not a valid regular expression for cloudflared: ${compiled.error}`,
        'cloudflared uses Go (RE2) syntax: no lookarounds or backreferences; e.g. ^/api/',
      );
    }
  }
  const access = record(record(service.originRequest)?.access);
  if (access && access.required === true && Array.isArray(access.audTag) && access.audTag.length > 0 && !access.teamName) {
    // cloudflared refuses this config: "access.TeamName cannot be blank when access.audTags are present".
    sink.error(
      `${field}.originRequest.access.teamName`,
      'is required when audTag is set',
      'add `teamName:` with your Zero Trust team name',
    );
  }
  checkServiceType(service, field, sink);
}
