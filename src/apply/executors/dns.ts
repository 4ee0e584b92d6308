import { InternalError } from '../../core/errors.js';
import type { DnsChangeSet, NewDnsRecord } from '../../ports/cloudflare.js';
import type { DnsChange } from '../../plan/types.js';
import type { Executor } from './executor.js';

/**
 * DNS records, one batch per zone (Cloudflare's batch endpoint applies a zone's batch all or
 * nothing, so a failure names the first change of the zone it stopped at).
 */
export const dnsExecutor: Executor<DnsChange> = {
  async apply(changes, ctx) {
    for (const { set, changes: inZone } of dnsChangeSets(changes, (s) => ctx.resolve(s))) {
      const n = inZone.length;
      ctx.reporter.step(`dns/${set.zoneName}`, `${n} record change${n === 1 ? '' : 's'}`);
      await ctx.ports.cloudflare.applyDnsChanges(set);
      for (const c of inZone) ctx.completed(c);
      ctx.reporter.done(`dns/${set.zoneName}`);
    }
  },
};

/** Groups DNS changes into one change set per zone; `resolve` fills in a tunnel id known only now. */
export function dnsChangeSets(
  changes: readonly DnsChange[],
  resolve: (text: string) => string,
): { set: DnsChangeSet; changes: DnsChange[] }[] {
  const byZone = new Map<string, { set: DnsChangeSet; changes: DnsChange[] }>();
  for (const c of changes) {
    let zone = byZone.get(c.zoneId);
    if (!zone) {
      zone = { set: { zoneId: c.zoneId, zoneName: c.zoneName, creates: [], updates: [], deletes: [] }, changes: [] };
      byZone.set(c.zoneId, zone);
    }
    const record: NewDnsRecord | undefined = c.after ? { ...c.after, content: resolve(c.after.content) } : undefined;
    if (c.action === 'create' && record) zone.set.creates.push(record);
    else if (c.action === 'update' && record && c.before) zone.set.updates.push({ id: c.before.id, record });
    else if (c.action === 'delete' && c.before) zone.set.deletes.push({ id: c.before.id, name: c.before.name });
    else throw new InternalError(`${c.address}: a DNS ${c.action} without the record it needs`);
    zone.changes.push(c);
  }
  return [...byZone.values()];
}
