import type { DnsChangeSet, NewDnsRecord } from '../ports/cloudflare.js';
import { TUNNEL_ID_PLACEHOLDER, type DnsChange } from '../plan/types.js';

/**
 * Groups planned DNS changes into one change set per zone for `applyDnsChanges`.
 * `tunnelId` replaces TUNNEL_ID_PLACEHOLDER in targets when the tunnel was created by the
 * same apply. `noop`s are dropped; pass only creates/updates or only deletes to split the
 * apply into its two phases (routes before files, deletes after).
 */
export function dnsChangeSets(changes: DnsChange[], tunnelId: string): DnsChangeSet[] {
  const sets = new Map<string, DnsChangeSet>();
  const setFor = (c: DnsChange): DnsChangeSet => {
    let set = sets.get(c.zoneId);
    if (!set) {
      set = { zoneId: c.zoneId, zoneName: c.zoneName, creates: [], updates: [], deletes: [] };
      sets.set(c.zoneId, set);
    }
    return set;
  };
  const resolve = (r: NewDnsRecord): NewDnsRecord => ({ ...r, content: r.content.replace(TUNNEL_ID_PLACEHOLDER, tunnelId) });
  for (const c of changes) {
    if (c.action === 'create' && c.after) setFor(c).creates.push(resolve(c.after));
    else if (c.action === 'update' && c.after && c.before) setFor(c).updates.push({ id: c.before.id, record: resolve(c.after) });
    else if (c.action === 'delete' && c.before) setFor(c).deletes.push({ id: c.before.id, name: c.before.name });
  }
  return [...sets.values()];
}

/**
 * Splits DNS changes into the two apply phases. Routes go first (before files and service),
 * prunes last (a removed service loses its record before its ingress rule). A delete on a
 * hostname that is also created/updated (a foreign record replaced under --adopt, a duplicate
 * of ours) must run with the routes: the CNAME cannot be written while it exists.
 */
export function splitDnsPhases(changes: DnsChange[]): { routes: DnsChange[]; prunes: DnsChange[] } {
  const written = new Set(changes.filter((c) => c.action === 'create' || c.action === 'update').map((c) => c.address));
  const routes: DnsChange[] = [];
  const prunes: DnsChange[] = [];
  for (const c of changes) {
    if (c.action === 'noop') continue;
    if (c.action === 'delete' && !written.has(c.address)) prunes.push(c);
    else routes.push(c);
  }
  return { routes, prunes };
}
