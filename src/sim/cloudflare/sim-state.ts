import { randomBytes, randomUUID } from 'node:crypto';
import { domainToASCII, domainToUnicode } from 'node:url';

/** Permission names as the Cloudflare dashboard shows them on an API token. */
export const PERMISSIONS = {
  tunnelEdit: 'Account: Cloudflare Tunnel Edit',
  tunnelRead: 'Account: Cloudflare Tunnel Read',
  dnsEdit: 'Zone: DNS Edit',
  dnsRead: 'Zone: DNS Read',
  zoneRead: 'Zone: Zone Read',
  accessAppsEdit: 'Access: Apps and Policies Edit',
  accessAppsRead: 'Access: Apps and Policies Read',
  accessOrgRead: 'Access: Organizations, Identity Providers, and Groups Read',
  accessServiceTokensEdit: 'Access: Service Tokens Edit',
} as const;
export const ALL_PERMISSIONS: string[] = Object.values(PERMISSIONS);

export type ZonePlan = 'free' | 'pro';

export interface SimAccount {
  id: string;
  name: string;
}

export interface SimRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  proxiable: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_on: string;
  modified_on: string;
}

export interface SimZone {
  id: string;
  /** As the zones API returns it: Unicode for an IDN zone (cloudflare-go#347, nginx-ui#1914). */
  name: string;
  /** The ASCII (punycode) form, which DNS record names use. */
  asciiName: string;
  accountId: string;
  plan: ZonePlan;
  status: 'active';
  /** Records a create may bring the zone to (API creates only; seeding ignores it). */
  recordQuota: number;
  /** Insertion-ordered, so pages are stable. */
  records: Map<string, SimRecord>;
  created_on: string;
}

export interface SimConnection {
  id: string;
  uuid: string;
  client_id: string;
  client_version: string;
  colo_name: string;
  is_pending_reconnect: boolean;
  opened_at: string;
  origin_ip: string;
}

/** One cloudflared process (a "client" in the API) and its edge connections. */
export interface SimConnector {
  id: string;
  arch: string;
  config_version: number;
  features: string[];
  run_at: string;
  version: string;
  conns: SimConnection[];
}

export interface SimTunnel {
  id: string;
  accountId: string;
  name: string;
  /** base64 of the secret bytes, exactly as the token carries it. */
  secret: string;
  configSrc: 'local' | 'cloudflare';
  created_at: string;
  deleted_at: string | null;
  /** Served by GET .../connections only: tunnel objects no longer carry connections. */
  connectors: SimConnector[];
  /** Ever had a connection: distinguishes `down` from `inactive`. */
  everConnected: boolean;
  config: { version: number; config: unknown; created_at: string } | undefined;
}

export interface SimToken {
  token: string;
  permissions: string[];
  /** Who owns it (default a user): account-owned tokens verify only at /accounts/{id}/tokens/verify. */
  owner?: { kind: 'user' } | { kind: 'account'; accountId: string };
  /** What tokens/verify reports (default active); only `active` tokens authenticate. */
  status?: 'active' | 'disabled' | 'expired';
}

/** Seed shape for records: only what a test cares about. */
export interface SeedRecord {
  name: string;
  type?: string;
  content: string;
  proxied?: boolean;
  ttl?: number;
  comment?: string | null;
  tags?: string[];
  id?: string;
}

export function newId(): string {
  return randomBytes(16).toString('hex');
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Cloudflare stores FQDNs, lower-case punycode, without the trailing dot; `@` and relative names join the zone (ASCII form). */
export function normalizeName(raw: string, zone: string): string {
  let name = raw.trim().toLowerCase().replace(/\.$/, '');
  // Record names are stored in punycode; the API accepts Unicode on writes (cloudflare-docs#1991).
  if (/[^\x00-\x7f]/.test(name)) name = domainToASCII(name) || name;
  if (name === '@' || name === '') return zone;
  if (name !== zone && !name.endsWith(`.${zone}`)) name = `${name}.${zone}`;
  return name;
}

export const PROXIABLE_TYPES = new Set(['A', 'AAAA', 'CNAME']);

/** Everything the simulator knows; tests read and seed it directly. */
export class SimState {
  readonly accounts = new Map<string, SimAccount>();
  readonly zones = new Map<string, SimZone>();
  readonly tunnels = new Map<string, SimTunnel>();
  readonly tokens = new Map<string, SimToken>();

  addAccount(account: SimAccount): SimAccount {
    this.accounts.set(account.id, account);
    return account;
  }

  addZone(options: { name: string; accountId: string; plan?: ZonePlan; recordQuota?: number; id?: string }): SimZone {
    const plan = options.plan ?? 'free';
    const ascii = domainToASCII(options.name.toLowerCase()) || options.name.toLowerCase();
    const zone: SimZone = {
      id: options.id ?? newId(),
      name: domainToUnicode(ascii) || ascii,
      asciiName: ascii,
      accountId: options.accountId,
      plan,
      status: 'active',
      // Free zones created before 2024-09 keep 1,000; paid plans get 3,500.
      recordQuota: options.recordQuota ?? (plan === 'free' ? 1000 : 3500),
      records: new Map(),
      created_on: nowIso(),
    };
    this.zones.set(zone.id, zone);
    return zone;
  }

  /** By either form of the name (tests seed with whichever they like). */
  zoneByName(name: string): SimZone | undefined {
    const ascii = domainToASCII(name.toLowerCase()) || name.toLowerCase();
    for (const z of this.zones.values()) if (z.asciiName === ascii) return z;
    return undefined;
  }

  /** Bypasses API validation and quotas, for large fixtures. */
  seedRecord(zoneName: string, seed: SeedRecord): SimRecord {
    const zone = this.zoneByName(zoneName);
    if (!zone) throw new Error(`simulator: no zone ${zoneName}`);
    const type = seed.type ?? 'CNAME';
    const proxied = seed.proxied ?? false;
    const at = nowIso();
    const record: SimRecord = {
      id: seed.id ?? newId(),
      zone_id: zone.id,
      zone_name: zone.name,
      name: normalizeName(seed.name, zone.asciiName),
      type,
      content: seed.content,
      proxied,
      proxiable: PROXIABLE_TYPES.has(type),
      ttl: proxied ? 1 : (seed.ttl ?? 1),
      comment: seed.comment ?? null,
      tags: seed.tags ?? [],
      settings: {},
      meta: {},
      created_on: at,
      modified_on: at,
    };
    zone.records.set(record.id, record);
    return record;
  }

  records(zoneName: string): SimRecord[] {
    const zone = this.zoneByName(zoneName);
    return zone ? [...zone.records.values()] : [];
  }

  /** A tunnel as if created elsewhere (dashboard, earlier run); returns it with its secret. */
  seedTunnel(accountId: string, name: string, options: { secret?: string; deleted?: boolean } = {}): SimTunnel {
    const tunnel: SimTunnel = {
      id: randomUUID(),
      accountId,
      name,
      secret: options.secret ?? randomBytes(32).toString('base64'),
      configSrc: 'local',
      created_at: nowIso(),
      deleted_at: options.deleted ? nowIso() : null,
      connectors: [],
      everConnected: false,
      config: undefined,
    };
    this.tunnels.set(tunnel.id, tunnel);
    return tunnel;
  }

  /**
   * Pretend one cloudflared connector is up with `count` edge connections (0 = connector down).
   * Returns the connector id (undefined when `count` is 0).
   */
  setTunnelConnections(tunnelId: string, count: number, options: { version?: string; clientId?: string } = {}): string | undefined {
    const tunnel = this.tunnels.get(tunnelId);
    if (!tunnel) throw new Error(`simulator: no tunnel ${tunnelId}`);
    if (count === 0) {
      tunnel.connectors = [];
      return undefined;
    }
    const clientId = options.clientId ?? randomUUID();
    this.#stoppedClients.delete(clientId);
    const version = options.version ?? '2026.8.2';
    const colos = ['fra01', 'ams01', 'fra08', 'ams08'];
    const at = nowIso();
    const conns = Array.from({ length: count }, (_, i): SimConnection => {
      const id = randomUUID();
      return {
        id,
        uuid: id,
        client_id: clientId,
        client_version: version,
        colo_name: colos[i % colos.length]!,
        is_pending_reconnect: false,
        opened_at: at,
        origin_ip: '127.0.0.1',
      };
    });
    tunnel.connectors = [
      { id: clientId, arch: 'linux_amd64', config_version: 0, features: ['serialized_headers'], run_at: at, version, conns },
    ];
    tunnel.everConnected = true;
    return clientId;
  }

  /**
   * Connector processes (client ids) that were stopped. Their connections stay listed until
   * someone cleans them up: the edge can take "several minutes" to mark them inactive on its
   * own (access-ha-health.md §4.1), and until then a tunnel delete answers 1022.
   */
  readonly #stoppedClients = new Set<string>();

  /** A second cloudflared (another host) joins the tunnel; returns its client id. */
  connectReplica(tunnelId: string, count: number): string {
    const tunnel = this.tunnels.get(tunnelId);
    if (!tunnel) throw new Error(`simulator: no tunnel ${tunnelId}`);
    const others = tunnel.connectors;
    const clientId = this.setTunnelConnections(tunnelId, count)!;
    tunnel.connectors = [...others, ...tunnel.connectors];
    return clientId;
  }

  /** A connector running `tunnelId` (one client, or all) was stopped: its connections go stale. */
  connectorStopped(tunnelId: string, clientId?: string): void {
    for (const c of this.tunnels.get(tunnelId)?.connectors ?? []) {
      if (clientId === undefined || c.id === clientId) this.#stoppedClients.add(c.id);
    }
  }

  /**
   * `DELETE …/connections[?client_id=]`: "Removes a connection … independently of its current
   * state" (schema). A stopped connector's records are gone; one that still runs reconnects at
   * once, so its connections come back under new ids.
   */
  cleanupConnections(tunnelId: string, clientId?: string): void {
    const tunnel = this.tunnels.get(tunnelId);
    if (!tunnel) return;
    tunnel.connectors = tunnel.connectors.flatMap((c) => {
      if (clientId !== undefined && c.id !== clientId) return [c];
      if (this.#stoppedClients.has(c.id)) return [];
      const at = nowIso();
      return [{ ...c, run_at: at, conns: c.conns.map((conn) => ({ ...conn, id: randomUUID(), uuid: randomUUID(), opened_at: at })) }];
    });
  }

  activeTunnelByName(accountId: string, name: string): SimTunnel | undefined {
    for (const t of this.tunnels.values()) {
      if (t.accountId === accountId && t.name === name && t.deleted_at === null) return t;
    }
    return undefined;
  }
}

export function connectionCount(t: SimTunnel): number {
  return t.connectors.reduce((n, c) => n + c.conns.length, 0);
}

export function tunnelStatus(t: SimTunnel): 'inactive' | 'degraded' | 'healthy' | 'down' {
  if (connectionCount(t) === 0) return t.everConnected ? 'down' : 'inactive';
  return t.connectors.some((c) => c.conns.some((conn) => conn.is_pending_reconnect)) ? 'degraded' : 'healthy';
}

/** The tunnel token: base64(JSON{a,s,t}) in Go struct order, as cloudflared's TunnelToken encodes it. */
export function tunnelToken(t: SimTunnel): string {
  return Buffer.from(JSON.stringify({ a: t.accountId, s: t.secret, t: t.id })).toString('base64');
}
