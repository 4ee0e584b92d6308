import { randomBytes, randomUUID } from 'node:crypto';

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
  name: string;
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
  client_id: string;
  client_version: string;
  colo_name: string;
  is_pending_reconnect: boolean;
  opened_at: string;
  origin_ip: string;
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
  connections: SimConnection[];
  /** Ever had a connection: distinguishes `down` from `inactive`. */
  everConnected: boolean;
  config: { version: number; config: unknown; created_at: string } | undefined;
}

export interface SimToken {
  token: string;
  permissions: string[];
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

/** Cloudflare stores FQDNs, lower-case, without the trailing dot; `@` and relative names join the zone. */
export function normalizeName(raw: string, zone: string): string {
  let name = raw.trim().toLowerCase().replace(/\.$/, '');
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
    const zone: SimZone = {
      id: options.id ?? newId(),
      name: options.name.toLowerCase(),
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

  zoneByName(name: string): SimZone | undefined {
    for (const z of this.zones.values()) if (z.name === name.toLowerCase()) return z;
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
      name: normalizeName(seed.name, zone.name),
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
      connections: [],
      everConnected: false,
      config: undefined,
    };
    this.tunnels.set(tunnel.id, tunnel);
    return tunnel;
  }

  /** Pretend `count` cloudflared edge connections are up (0 = connector down). */
  setTunnelConnections(tunnelId: string, count: number): void {
    const tunnel = this.tunnels.get(tunnelId);
    if (!tunnel) throw new Error(`simulator: no tunnel ${tunnelId}`);
    const clientId = randomUUID();
    const colos = ['fra01', 'ams01', 'fra08', 'ams08'];
    tunnel.connections = Array.from({ length: count }, (_, i) => ({
      id: randomUUID(),
      client_id: clientId,
      client_version: '2026.8.2',
      colo_name: colos[i % colos.length]!,
      is_pending_reconnect: false,
      opened_at: nowIso(),
      origin_ip: '127.0.0.1',
    }));
    if (count > 0) tunnel.everConnected = true;
  }

  activeTunnelByName(accountId: string, name: string): SimTunnel | undefined {
    for (const t of this.tunnels.values()) {
      if (t.accountId === accountId && t.name === name && t.deleted_at === null) return t;
    }
    return undefined;
  }
}

export function tunnelStatus(t: SimTunnel): 'inactive' | 'degraded' | 'healthy' | 'down' {
  if (t.connections.length === 0) return t.everConnected ? 'down' : 'inactive';
  return t.connections.some((c) => c.is_pending_reconnect) ? 'degraded' : 'healthy';
}

/** The tunnel token: base64(JSON{a,s,t}) in Go struct order, as cloudflared's TunnelToken encodes it. */
export function tunnelToken(t: SimTunnel): string {
  return Buffer.from(JSON.stringify({ a: t.accountId, s: t.secret, t: t.id })).toString('base64');
}
