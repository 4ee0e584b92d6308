import type { Secret } from '../core/secret.js';

/**
 * The Cloudflare port (tunnels, DNS). Zone name → id is resolved inside the adapter.
 * Adapter: src/cloudflare/ (over the `cloudflare` SDK). Fake: test/fakes/in-memory-cloudflare.ts.
 */

export interface TunnelState {
  id: string;
  name: string;
  /** e.g. healthy, degraded, down, inactive */
  status: string;
  createdAt: string;
  /** `local`: config.yml on the connector; `cloudflare`: remotely managed (dashboard/API ingress). */
  configSrc?: 'local' | 'cloudflare';
}

/** One ingress rule as the `configurations` endpoint of a remotely-managed tunnel returns it. */
export interface RemoteIngressRule {
  hostname?: string;
  path?: string;
  service: string;
  originRequest?: Record<string, unknown>;
}

/** `GET …/cfd_tunnel/{id}/configurations` (SDK `configurations.get`). */
export interface RemoteTunnelConfig {
  source: 'local' | 'cloudflare';
  version: number;
  ingress: RemoteIngressRule[];
  originRequest?: Record<string, unknown>;
}

/**
 * One cloudflared process serving the tunnel, from GET .../cfd_tunnel/{id}/connections. Tunnel
 * objects stopped carrying connections on 2026-10-05 (Cloudflare changelog 2026-07-09).
 */
export interface TunnelConnector {
  /** Connector id; a restarted cloudflared registers under a new one. */
  id: string;
  /** cloudflared version, e.g. 2026.8.2 */
  version: string;
  /** When this cloudflared started (ISO 8601). */
  runAt: string;
  /** Edge connections it holds now (cloudflared keeps 4). */
  connections: number;
  /** Cloudflare data centres of those connections, e.g. fra08. */
  colos: string[];
}

/** Credentials file content for a locally-managed tunnel (cloudflared `Credentials`). */
export interface TunnelCredentials {
  accountTag: string;
  tunnelId: string;
  /** base64 of the 32-byte secret */
  tunnelSecret: Secret;
}

export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | string;

export interface DnsRecord {
  id: string;
  zoneId: string;
  zoneName: string;
  /** FQDN, lower-case */
  name: string;
  type: DnsRecordType;
  content: string;
  proxied: boolean;
  ttl: number;
  comment: string | null;
}

export interface ZoneRecords {
  zoneId: string;
  zoneName: string;
  /** Every record of the zone (all pages). A partial listing throws. */
  records: DnsRecord[];
}

export interface NewDnsRecord {
  name: string;
  type: 'CNAME';
  content: string;
  proxied: true;
  ttl: 1;
  comment: string;
}

export interface DnsChangeSet {
  zoneId: string;
  zoneName: string;
  creates: NewDnsRecord[];
  updates: { id: string; record: NewDnsRecord }[];
  deletes: { id: string; name: string }[];
}

/**
 * The port is split by concern, one interface per Cloudflare product proxflare manages, each
 * with its readers and writers; a new concern (Access applications next) is a new interface
 * here and one more `extends` below.
 */

/** Named tunnels of the account. */
export interface TunnelsPort {
  /** Find by name among non-deleted tunnels. */
  findTunnel(accountId: string, name: string): Promise<TunnelState | undefined>;
  /** The tunnel's connectors, from the connections endpoint (empty when no cloudflared is connected). */
  listConnectors(accountId: string, tunnelId: string): Promise<TunnelConnector[]>;
  /** config_src: local, with a locally generated 32-byte secret. */
  createTunnel(accountId: string, name: string): Promise<{ tunnel: TunnelState; credentials: TunnelCredentials }>;
  /** Recover credentials of an existing tunnel from its token (no duplicate tunnel). */
  recoverCredentials(accountId: string, tunnelId: string): Promise<TunnelCredentials>;
  /** The ingress Cloudflare holds for the tunnel (remotely managed); undefined when it has none. */
  getTunnelConfiguration(accountId: string, tunnelId: string): Promise<RemoteTunnelConfig | undefined>;
  /** Replace the configuration of a remotely-managed tunnel (PUT …/configurations); returns its new version. */
  putTunnelConfiguration(
    accountId: string,
    tunnelId: string,
    config: { ingress: RemoteIngressRule[]; originRequest?: Record<string, unknown> },
  ): Promise<number>;
  /**
   * Remove every connection record of the tunnel (= `cloudflared tunnel cleanup`). A connector
   * that still runs reconnects at once, so its cloudflared must be stopped first.
   */
  deleteTunnelConnections(accountId: string, tunnelId: string): Promise<void>;
  /** Delete the tunnel; an already deleted tunnel is not an error. Answers 'has-connections' (1022) while it has connections. */
  deleteTunnel(accountId: string, tunnelId: string): Promise<'deleted' | 'has-connections'>;
}

/** DNS records of the configured zones. */
export interface DnsPort {
  listZoneRecords(zoneName: string): Promise<ZoneRecords>;
  /** Batch endpoint where possible (≤200 per batch on Free), falling back to single calls. */
  applyDnsChanges(changes: DnsChangeSet): Promise<void>;
}

export interface Cloudflare extends TunnelsPort, DnsPort {}
