import { randomBytes, randomUUID } from 'node:crypto';
import { Secret } from '../../src/core/secret.js';
import type {
  Cloudflare,
  DnsChangeSet,
  DnsRecord,
  RemoteTunnelConfig,
  TunnelConnector,
  TunnelCredentials,
  TunnelState,
  ZoneRecords,
} from '../../src/ports/cloudflare.js';

/** In-process Cloudflare (tunnels + DNS) with an action log and one-shot failures. */
export class InMemoryCloudflare implements Cloudflare {
  readonly actions: string[] = [];
  readonly tunnels: (TunnelState & { secret: string; deleted: boolean; connections: number })[] = [];
  readonly zones = new Map<string, { id: string; records: DnsRecord[] }>();
  readonly failures = new Map<string, Error>();
  /** Shared with the other fakes, so a test can assert the order of effects across systems. */
  effects: string[] = [];
  private recordCounter = 0;
  private connectorCounter = 0;

  constructor(
    readonly accountId: string,
    zoneNames: string[],
  ) {
    for (const z of zoneNames) this.zones.set(z, { id: randomUUID().replace(/-/g, ''), records: [] });
  }

  failOnce(method: string, error: Error = new Error(`injected failure in ${method}`)): void {
    this.failures.set(method, error);
  }

  private hit(action: string, method: string): void {
    this.actions.push(action);
    this.effects.push(`cloudflare ${action}`);
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
  }

  addRecord(zoneName: string, r: Omit<DnsRecord, 'id' | 'zoneId' | 'zoneName'>): DnsRecord {
    const zone = this.zones.get(zoneName)!;
    const record = { ...r, id: `rec${++this.recordCounter}`, zoneId: zone.id, zoneName };
    zone.records.push(record);
    return record;
  }

  async findTunnel(_accountId: string, name: string): Promise<TunnelState | undefined> {
    this.hit(`findTunnel ${name}`, 'findTunnel');
    const t = this.tunnels.find((x) => x.name === name && !x.deleted);
    return t ? { id: t.id, name: t.name, status: t.status, createdAt: t.createdAt } : undefined;
  }

  async listConnectors(_accountId: string, tunnelId: string): Promise<TunnelConnector[]> {
    this.hit(`listConnectors ${tunnelId}`, 'listConnectors');
    const t = this.tunnels.find((x) => x.id === tunnelId);
    if (!t || t.connections === 0) return [];
    // Every read sees a freshly (re)started connector, so a restart wait ends at its first look.
    return [
      { id: `connector-${++this.connectorCounter}`, version: '2026.8.2', runAt: t.createdAt, connections: t.connections, colos: ['fra01'] },
    ];
  }

  async listZoneRecords(zoneName: string): Promise<ZoneRecords> {
    this.hit(`listZoneRecords ${zoneName}`, 'listZoneRecords');
    const zone = this.zones.get(zoneName);
    if (!zone) throw new Error(`zone ${zoneName} not found`);
    return { zoneId: zone.id, zoneName, records: zone.records.map((r) => ({ ...r })) };
  }

  async createTunnel(accountId: string, name: string): Promise<{ tunnel: TunnelState; credentials: TunnelCredentials }> {
    this.hit(`createTunnel ${name}`, 'createTunnel');
    if (this.tunnels.some((t) => t.name === name && !t.deleted)) throw new Error(`tunnel ${name} already exists`);
    const secret = randomBytes(32).toString('base64');
    // The fake edge accepts the connector at once: a created tunnel reports healthy connections.
    const t = { id: randomUUID(), name, status: 'healthy', connections: 4, createdAt: new Date(0).toISOString(), secret, deleted: false };
    this.tunnels.push(t);
    return {
      tunnel: { id: t.id, name, status: t.status, createdAt: t.createdAt },
      credentials: { accountTag: accountId, tunnelId: t.id, tunnelSecret: new Secret(secret) },
    };
  }

  async recoverCredentials(accountId: string, tunnelId: string): Promise<TunnelCredentials> {
    this.hit(`recoverCredentials ${tunnelId}`, 'recoverCredentials');
    const t = this.tunnels.find((x) => x.id === tunnelId);
    if (!t) throw new Error(`tunnel ${tunnelId} not found`);
    return { accountTag: accountId, tunnelId, tunnelSecret: new Secret(t.secret) };
  }

  async applyDnsChanges(set: DnsChangeSet): Promise<void> {
    this.hit(`applyDnsChanges ${set.zoneName} +${set.creates.length} ~${set.updates.length} -${set.deletes.length}`, 'applyDnsChanges');
    const zone = this.zones.get(set.zoneName)!;
    const ids = new Set(set.deletes.map((d) => d.id));
    zone.records = zone.records.filter((r) => !ids.has(r.id));
    for (const u of set.updates) {
      const r = zone.records.find((x) => x.id === u.id);
      if (!r) throw new Error(`record ${u.id} does not exist`);
      Object.assign(r, u.record);
    }
    for (const c of set.creates) this.addRecord(set.zoneName, c);
  }

  async getTunnelConfiguration(_accountId: string, tunnelId: string): Promise<RemoteTunnelConfig | undefined> {
    this.hit(`getTunnelConfiguration ${tunnelId}`, 'getTunnelConfiguration');
    return undefined;
  }

  async putTunnelConfiguration(_accountId: string, tunnelId: string): Promise<number> {
    this.hit(`putTunnelConfiguration ${tunnelId}`, 'putTunnelConfiguration');
    return 1;
  }

  async deleteTunnelConnections(_accountId: string, tunnelId: string): Promise<void> {
    this.hit(`deleteTunnelConnections ${tunnelId}`, 'deleteTunnelConnections');
    const t = this.tunnels.find((x) => x.id === tunnelId);
    if (t) t.connections = 0;
  }

  async deleteTunnel(_accountId: string, tunnelId: string): Promise<'deleted' | 'has-connections'> {
    this.hit(`deleteTunnel ${tunnelId}`, 'deleteTunnel');
    const t = this.tunnels.find((x) => x.id === tunnelId);
    if (!t || t.deleted) return 'deleted';
    if (t.connections > 0) return 'has-connections';
    t.deleted = true;
    return 'deleted';
  }
}
