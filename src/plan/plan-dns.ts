import type { DnsRecord, NewDnsRecord, ZoneRecords } from '../ports/cloudflare.js';
import { dnsAddress } from './addresses.js';
import type { AdoptKinds } from './ownership.js';
import { blocksOurRecord, describeDnsRecord, dnsConflict, isOwnedBy, markerTunnel, ownerComment } from './ownership.js';
import type { Conflict, DnsChange } from './types.js';
import { byCodePoint } from '../core/compare.js';

/** The DNS planner's ownership helpers, kept importable from here. */
export { isOwnedBy, markerTunnel, OWNER_COMMENT_MAX, ownerComment } from './ownership.js';

export interface PlanDnsInput {
  /** Desired hostnames, lower-case FQDNs; each must fall inside one of `zones`. */
  hostnames: string[];
  /** Complete listings of every zone the hostnames live in. */
  zones: ZoneRecords[];
  /** May be TUNNEL_ID_PLACEHOLDER when the tunnel is created by the same plan. */
  tunnelId: string;
  tunnelName: string;
  /** Take over foreign A/AAAA/CNAME records on wanted hostnames (`--adopt`, `--adopt=dns`). */
  adopt: AdoptKinds;
  maxDeletes: number;
  allowMassDelete: boolean;
  /** Extra text appended to the ownership comment (inventory `settings.ownerComment`). */
  commentExtra?: string;
}

export interface PlanDnsResult {
  changes: DnsChange[];
  conflicts: Conflict[];
  warnings: string[];
  /** Problems that make the plan unsafe to apply (mass delete, hostname outside every zone). */
  errors: string[];
}

export function tunnelTarget(tunnelId: string): string {
  return `${tunnelId}.cfargotunnel.com`;
}

/** The longest zone name the hostname ends with (`a.b.example.com` in `b.example.com` before `example.com`). */
export function zoneOf(hostname: string, zoneNames: string[]): string | undefined {
  let best: string | undefined;
  for (const zone of zoneNames) {
    if (hostname === zone || hostname.endsWith(`.${zone}`)) {
      if (best === undefined || zone.length > best.length) best = zone;
    }
  }
  return best;
}

function differences(before: DnsRecord, after: NewDnsRecord): string[] {
  const out: string[] = [];
  if (before.type !== after.type) out.push(`type ${before.type} → ${after.type}`);
  if (before.content !== after.content) out.push(`points to ${before.content}`);
  if (!before.proxied) out.push('not proxied');
  if (before.ttl !== after.ttl) out.push(`ttl ${before.ttl} → auto`);
  if (before.comment !== after.comment) out.push('ownership comment differs');
  return out;
}

function change(
  zone: ZoneRecords,
  name: string,
  action: DnsChange['action'],
  reason: string,
  before: DnsRecord | undefined,
  after: NewDnsRecord | undefined,
): DnsChange {
  return { kind: 'dns', address: dnsAddress(name), action, reason, zoneId: zone.zoneId, zoneName: zone.zoneName, before, after };
}

/**
 * Pure DNS planning with ownership: records carrying our marker are created, corrected and
 * pruned; everything else is never touched, only reported (or taken over with `adopt`).
 */
export function planDns(input: PlanDnsInput): PlanDnsResult {
  const { tunnelName } = input;
  const adopt = input.adopt.has('dns');
  const comment = ownerComment(tunnelName, input.commentExtra);
  const target = tunnelTarget(input.tunnelId);
  const zoneNames = input.zones.map((z) => z.zoneName);
  const zoneByName = new Map(input.zones.map((z) => [z.zoneName, z]));
  const result: PlanDnsResult = { changes: [], conflicts: [], warnings: [], errors: [] };

  const wanted = new Map<string, ZoneRecords>();
  for (const raw of input.hostnames) {
    const host = raw.toLowerCase();
    const zoneName = zoneOf(host, zoneNames);
    const zone = zoneName === undefined ? undefined : zoneByName.get(zoneName);
    if (zone === undefined) {
      result.errors.push(
        `dns/${host}: hostname is not inside any configured zone (${zoneNames.join(', ') || 'none'}); add its zone to cloudflare.zones`,
      );
      continue;
    }
    wanted.set(host, zone);
  }

  const byName = new Map<string, DnsRecord[]>();
  for (const zone of input.zones) {
    for (const r of zone.records) {
      const key = `${zone.zoneId}/${r.name.toLowerCase()}`;
      const list = byName.get(key);
      if (list) list.push(r);
      else byName.set(key, [r]);
    }
  }

  const desiredRecord = (host: string): NewDnsRecord => ({ name: host, type: 'CNAME', content: target, proxied: true, ttl: 1, comment });
  const handled = new Set<string>();
  const ownDeletes: DnsChange[] = [];

  for (const host of [...wanted.keys()].sort()) {
    const zone = wanted.get(host)!;
    const records = byName.get(`${zone.zoneId}/${host}`) ?? [];
    const ours = records.filter((r) => isOwnedBy(r.comment, tunnelName));
    const foreign = records.filter((r) => blocksOurRecord(r, tunnelName));
    const after = desiredRecord(host);
    for (const r of records) handled.add(r.id);

    if (ours.length > 0) {
      const keep = ours.find((r) => r.type === 'CNAME') ?? ours[0]!;
      for (const extra of ours) {
        if (extra === keep) continue;
        ownDeletes.push(change(zone, host, 'delete', `duplicate of the record kept for dns/${host}`, extra, undefined));
      }
      for (const other of adopt ? foreign : []) {
        result.changes.push(
          change(zone, host, 'delete', `adopted: replaced by the tunnel CNAME (was ${describeDnsRecord(other)})`, other, undefined),
        );
      }
      if (!adopt) reportForeign(result, zone, host, foreign, tunnelName);
      const diff = differences(keep, after);
      result.changes.push(
        diff.length === 0
          ? change(zone, host, 'noop', 'up to date', keep, after)
          : change(zone, host, 'update', diff.join(', '), keep, after),
      );
      continue;
    }

    if (foreign.length === 0) {
      result.changes.push(change(zone, host, 'create', 'in inventory, no record yet', undefined, after));
      continue;
    }

    if (adopt) {
      const take = foreign.find((r) => r.type === 'CNAME') ?? foreign[0]!;
      for (const other of foreign) {
        if (other === take) continue;
        result.changes.push(
          change(zone, host, 'delete', `adopted: replaced by the tunnel CNAME (was ${describeDnsRecord(other)})`, other, undefined),
        );
      }
      result.changes.push(change(zone, host, 'update', `adopted (was ${describeDnsRecord(take)})`, take, after));
      continue;
    }

    const unmarkedToUs = foreign.every((r) => r.type === 'CNAME' && r.content === target && markerTunnel(r.comment) === undefined);
    if (unmarkedToUs) {
      result.warnings.push(
        `dns/${host}: ${describeDnsRecord(foreign[0]!)} points at tunnel ${tunnelName} but has no proxflare ownership comment; left alone (re-run with --adopt to manage it)`,
      );
      continue;
    }
    reportForeign(result, zone, host, foreign, tunnelName);
  }

  for (const zone of input.zones) {
    for (const r of zone.records) {
      if (handled.has(r.id)) continue;
      if (isOwnedBy(r.comment, tunnelName)) {
        ownDeletes.push(change(zone, r.name, 'delete', 'not in inventory', r, undefined));
      } else if (r.type === 'CNAME' && r.content === target) {
        result.warnings.push(
          `dns/${r.name}: ${describeDnsRecord(r)} points at tunnel ${tunnelName}, is not in the inventory and has no proxflare ownership comment; left alone`,
        );
      }
    }
  }

  ownDeletes.sort((a, b) => byCodePoint(a.address, b.address));
  result.changes.push(...ownDeletes);
  guardMassDelete(result, input, ownDeletes);
  return result;
}

function reportForeign(result: PlanDnsResult, zone: ZoneRecords, host: string, foreign: DnsRecord[], tunnelName: string): void {
  for (const r of foreign) result.conflicts.push(dnsConflict(r, zone.zoneName, host, tunnelName));
}

function guardMassDelete(result: PlanDnsResult, input: PlanDnsInput, deletes: DnsChange[]): void {
  if (input.allowMassDelete || deletes.length === 0) return;
  const owned = input.zones.reduce((n, z) => n + z.records.filter((r) => isOwnedBy(r.comment, input.tunnelName)).length, 0);
  const tooMany = deletes.length > input.maxDeletes;
  const tooLargeShare = owned > 4 && deletes.length > owned / 2;
  if (!tooMany && !tooLargeShare) return;
  const why = tooMany
    ? `more than the limit of ${input.maxDeletes}`
    : `more than half of the ${owned} records proxflare manages for tunnel ${input.tunnelName}`;
  result.errors.push(
    `refusing to delete ${deletes.length} DNS records (${why}): ${deletes.map((d) => d.address.slice('dns/'.length)).join(', ')}; ` +
      're-run with --allow-mass-delete if that is intended, or raise settings.maxDeletes',
  );
}
