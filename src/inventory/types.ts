import type { Secret } from '../core/secret.js';
import type { AccessSettings, ServiceAccess } from './access-types.js';

/**
 * The validated, normalised inventory. Produced by `loadInventory`; every other
 * module works from this shape, never from raw YAML. Defaults are already applied.
 */
export interface Inventory {
  /** Absolute path of the file it came from (for messages). */
  file: string;
  proxmox: ProxmoxSettings;
  cloudflare: CloudflareSettings;
  tunnel: TunnelSettings;
  /** The first replica (today's single connector); every replica is in `connectors`. */
  connector: ConnectorSpec;
  /**
   * Every cloudflared LXC of the tunnel, in inventory order: `connector.replicas`, or the
   * one `connector` when there are none. Each has the same tunnel credentials and config.
   */
  connectors: ConnectorSpec[];
  guests: GuestSpec[];
  /** Machines published by address, without a Proxmox lookup. */
  hosts: HostSpec[];
  settings: Settings;
  /** Cloudflare Access; absent when the inventory uses none (then no Access API call is made). */
  access?: AccessSettings;
  /** Where each field came from, for errors raised after loading (plan-time problems). */
  positions: SourcePositions;
  /**
   * Problems that do not stop a sync (e.g. a hostname two levels below its zone, which
   * Free Universal SSL does not cover). Each is "file:line:col field: message".
   */
  warnings: string[];
}

export interface SourcePositions {
  /** `field` is the dotted path (`guests[1].services[0].hostname`). Returns "file:line:col". */
  locate(field: string): string;
}

export interface ProxmoxSettings {
  /** e.g. https://pve.lan:8006 */
  url: string;
  host: string;
  /** Always explicit: proxmox-api has no working default (README-pve §9.1). */
  port: number;
  protocol: 'https' | 'http';
  tokenId: string;
  tokenSecret: Secret;
  /** SHA-256 fingerprint of the node certificate, "AB:CD:..." upper-case. */
  fingerprint?: string;
  /** Skip TLS verification entirely (escape hatch; warns loudly). */
  insecure: boolean;
  /** Default node for guests and the connector. */
  node: string;
  /** Most API requests in flight while reading (`proxmox.concurrency`, default 8). */
  concurrency?: number;
}

export interface CloudflareSettings {
  apiToken: Secret;
  /** 32-hex account id. */
  accountId: string;
  /** Zone names, lower-case. A hostname belongs to the longest zone it ends with. */
  zones: string[];
  /** Override for the API base URL (simulator, tests). */
  baseUrl?: string;
}

export interface TunnelSettings {
  name: string;
  /** cloudflared settings written at the top of config.yml; absent ones are left to cloudflared's defaults. */
  protocol?: 'auto' | 'quic' | 'http2';
  edgeIpVersion?: 'auto' | '4' | '6';
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Go duration. */
  gracePeriod?: string;
  retries?: number;
  /** originRequest defaults for every rule (cloudflared merges a rule's own keys over them). */
  originRequest?: Record<string, unknown>;
  /** The service of the last, match-everything rule: `http_status:404` unless set. */
  catchAll: string;
}

export type NetworkSpec =
  { bridge: string; ip: 'dhcp'; vlan?: number } | { bridge: string; ip: string /* CIDR */; gw?: string; vlan?: number };

export type CloudflaredSource =
  | { type: 'apt'; version?: string }
  /** A local .deb uploaded over SFTP (offline homelabs); `version` is what the .deb contains. */
  | { type: 'deb'; path: string; version?: string };

export interface SshSettings {
  user: string;
  port: number;
  /** Absolute path (~ expanded). */
  privateKey: string;
  /** Public key injected into the LXC at creation; default `<privateKey>.pub`. */
  publicKey: string;
  /** known_hosts-style file for host key pinning; default ~/.config/proxflare/known_hosts. */
  knownHosts: string;
  /** Record an unknown host key on first use instead of refusing. */
  trustOnFirstUse: boolean;
  /** Connect to this address instead of the discovered LXC IP. */
  host?: string;
  /** Reach the LXC through this host (usually the Proxmox node). */
  jump?: { host: string; port: number; user: string };
}

export interface ConnectorSpec {
  hostname: string;
  node: string;
  /** Fixed vmid; otherwise /cluster/nextid at creation. */
  vmid?: number;
  /** `debian-12` (resolved on the node through aplinfo) or a volid pin, e.g. local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst */
  template: string;
  /** Storage for the root disk, e.g. local-lvm. */
  storage: string;
  /** Root disk size in GiB. */
  disk: number;
  /** MiB */
  memory: number;
  /** MiB */
  swap: number;
  cores: number;
  onboot: boolean;
  network: NetworkSpec;
  ssh: SshSettings;
  cloudflared: CloudflaredSource;
  /** Ownership tag put on the LXC; the connector is found by tag + hostname. */
  tag: string;
  /** How long a restarted cloudflared has to pass its health gate (`connector.healthTimeout`). */
  healthTimeoutSeconds: number;
  /** Installed and configured, cloudflared stopped and disabled (a replica waiting for promotion). */
  standby?: boolean;
  /** `connector.replicas[i]` for a replica, `connector` for the single connector. */
  field?: string;
}

export type Scheme = 'http' | 'https' | 'tcp' | 'ssh' | 'rdp' | 'unix' | 'unix+tls' | 'http_status' | 'hello_world' | 'bastion' | 'socks';

/** Schemes whose origin is an address on the network (a guest's or a host's); the others are served on the connector. */
export const NETWORK_SCHEMES: ReadonlySet<Scheme> = new Set<Scheme>(['http', 'https', 'tcp', 'ssh', 'rdp']);

export interface ServiceSpec {
  /** Lower-case FQDN or `*.domain`; '' for a path rule that applies to every hostname of the tunnel. */
  hostname: string;
  scheme: Scheme;
  /** For network schemes. */
  port?: number;
  /** Request path regex (cloudflared `path`). */
  path?: string;
  /** For `unix` and `unix+tls`: the socket path on the connector. */
  socket?: string;
  /** For `http_status`: the status code returned. */
  status?: number;
  /** cloudflared originRequest options, passed through (validated keys). */
  originRequest?: Record<string, unknown>;
  /** Cloudflare Access protecting this hostname. */
  access?: ServiceAccess;
  /** Position in the inventory, for messages: `guests[i].services[j]` or `hosts[i].services[j]`. */
  field: string;
}

export type GuestType = 'lxc' | 'vm';

export interface GuestSpec {
  name: string;
  type: GuestType;
  vmid: number;
  node: string;
  /** Static override; wins over discovery. */
  ip?: string;
  /** Interface name to take the address from (LXC interfaces / guest agent). */
  interface?: string;
  services: ServiceSpec[];
  /** `guests[i]` */
  field: string;
}

/** A machine published by address (a NAS, a router, the Proxmox node): no Proxmox lookup. */
export interface HostSpec {
  name: string;
  /** An IP address or a DNS name the connector resolves. */
  address: string;
  /** Set on purpose: this is a Proxmox node, so its address is not refused. */
  proxmoxNode: boolean;
  services: ServiceSpec[];
  /** `hosts[i]` */
  field: string;
}

export interface Settings {
  /** Allow loopback origins (the demo's simulated guests). Never needed for a real homelab. */
  allowLoopbackOrigins: boolean;
  /** Largest number of our own DNS records one sync may delete without --allow-mass-delete. */
  maxDeletes: number;
  /** Extra text in the DNS ownership comment. */
  ownerComment?: string;
}
