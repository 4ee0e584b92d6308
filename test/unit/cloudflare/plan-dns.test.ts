import { describe, expect, it } from 'vitest';
import { isOwnedBy, markerTunnel, ownerComment, planDns, tunnelTarget, zoneOf, type PlanDnsInput } from '../../../src/plan/plan-dns.js';
import { TUNNEL_ID_PLACEHOLDER } from '../../../src/plan/types.js';
import type { DnsRecord } from '../../../src/ports/cloudflare.js';
import { ADOPT_ALL, ADOPT_NOTHING } from '../../../src/plan/ownership.js';

const TID = '6ff42ae2-765d-4adf-8112-31c55c1551ef';
const OURS = ownerComment('homelab');
let nextId = 0;

function rec(name: string, over: Partial<DnsRecord> = {}): DnsRecord {
  return {
    id: `r${++nextId}`,
    zoneId: 'z1',
    zoneName: 'example.com',
    name,
    type: 'CNAME',
    content: tunnelTarget(TID),
    proxied: true,
    ttl: 1,
    comment: OURS,
    ...over,
  };
}

function plan(hostnames: string[], records: DnsRecord[], over: Partial<PlanDnsInput> = {}) {
  return planDns({
    hostnames,
    zones: [{ zoneId: 'z1', zoneName: 'example.com', records }],
    tunnelId: TID,
    tunnelName: 'homelab',
    adopt: ADOPT_NOTHING,
    maxDeletes: 10,
    allowMassDelete: false,
    ...over,
  });
}

const summary = (r: ReturnType<typeof planDns>) => r.changes.map((c) => `${c.action} ${c.address}: ${c.reason}`);

describe('ownerComment / isOwnedBy', () => {
  it('marks records per tunnel name, exactly', () => {
    expect(ownerComment('homelab')).toBe('managed by proxflare: tunnel homelab');
    expect(isOwnedBy('managed by proxflare: tunnel homelab', 'homelab')).toBe(true);
    expect(isOwnedBy('managed by proxflare: tunnel homelab', 'home')).toBe(false);
    expect(isOwnedBy('managed by proxflare: tunnel homelab; media', 'homelab')).toBe(true);
    expect(isOwnedBy(ownerComment('homelab', 'media box'), 'homelab')).toBe(true);
    expect(isOwnedBy(null, 'homelab')).toBe(false);
    expect(isOwnedBy('homelab', 'homelab')).toBe(false);
    expect(markerTunnel(ownerComment('other', 'x'))).toBe('other');
    expect(markerTunnel('hand-made')).toBeUndefined();
  });

  it('stays within 100 characters without cutting a character in half, on one line', () => {
    const long = ownerComment('t'.repeat(200));
    expect(long).toHaveLength(100);
    expect(isOwnedBy(long, 't'.repeat(200))).toBe(true);
    const emoji = ownerComment('lab', '🙂'.repeat(80));
    expect(Array.from(emoji)).toHaveLength(100);
    expect(emoji.endsWith('🙂')).toBe(true);
    expect(ownerComment('a\nb')).toBe('managed by proxflare: tunnel a b');
  });
});

describe('zoneOf', () => {
  it('picks the longest zone suffix', () => {
    expect(zoneOf('a.lab.example.com', ['example.com', 'lab.example.com'])).toBe('lab.example.com');
    expect(zoneOf('example.com', ['example.com'])).toBe('example.com');
    expect(zoneOf('badexample.com', ['example.com'])).toBeUndefined();
  });
});

describe('planDns', () => {
  const cases: { name: string; hostnames: string[]; records: DnsRecord[]; expected: string[]; over?: Partial<PlanDnsInput> }[] = [
    {
      name: 'fresh zone: create',
      hostnames: ['a.example.com'],
      records: [],
      expected: ['create dns/a.example.com: in inventory, no record yet'],
    },
    {
      name: 'already right: noop kept',
      hostnames: ['a.example.com'],
      records: [rec('a.example.com')],
      expected: ['noop dns/a.example.com: up to date'],
    },
    {
      name: 'ours pointing elsewhere: update',
      hostnames: ['a.example.com'],
      records: [rec('a.example.com', { content: 'old.cfargotunnel.com' })],
      expected: ['update dns/a.example.com: points to old.cfargotunnel.com'],
    },
    {
      name: 'ours not proxied with a ttl: update',
      hostnames: ['a.example.com'],
      records: [rec('a.example.com', { proxied: false, ttl: 300 })],
      expected: ['update dns/a.example.com: not proxied, ttl 300 → auto'],
    },
    {
      name: 'ours, hostname left the inventory: delete',
      hostnames: [],
      records: [rec('gone.example.com')],
      expected: ['delete dns/gone.example.com: not in inventory'],
    },
    {
      name: 'foreign records never pruned',
      hostnames: [],
      records: [
        rec('x.example.com', { comment: null, type: 'A', content: '192.0.2.1' }),
        rec('y.example.com', { comment: ownerComment('other') }),
      ],
      expected: [],
    },
    {
      name: 'tunnel being created: targets use the placeholder',
      hostnames: ['a.example.com'],
      records: [rec('a.example.com')],
      over: { tunnelId: TUNNEL_ID_PLACEHOLDER },
      expected: [`update dns/a.example.com: points to ${TID}.cfargotunnel.com`],
    },
    {
      name: 'user extra text changed: comment refreshed',
      hostnames: ['a.example.com'],
      records: [rec('a.example.com', { comment: ownerComment('homelab', 'old') })],
      over: { commentExtra: 'new' },
      expected: ['update dns/a.example.com: ownership comment differs'],
    },
    {
      name: 'upper-case hostnames are planned lower-case',
      hostnames: ['A.Example.COM'],
      records: [],
      expected: ['create dns/a.example.com: in inventory, no record yet'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = plan(c.hostnames, c.records, c.over);
      expect(summary(r)).toEqual(c.expected);
      expect(r.conflicts).toEqual([]);
      expect(r.errors).toEqual([]);
    });
  }

  it('creates a proxied CNAME to the tunnel with ttl 1 and our comment', () => {
    const r = plan(['a.example.com'], []);
    expect(r.changes[0]).toMatchObject({
      kind: 'dns',
      zoneId: 'z1',
      zoneName: 'example.com',
      before: undefined,
      after: { name: 'a.example.com', type: 'CNAME', content: `${TID}.cfargotunnel.com`, proxied: true, ttl: 1, comment: OURS },
    });
  });

  it('a foreign A/AAAA/CNAME on a wanted hostname is a conflict naming it and --adopt', () => {
    const foreign = rec('a.example.com', { type: 'A', content: '192.0.2.1', comment: null, id: 'f1' });
    const other = rec('b.example.com', { comment: ownerComment('other'), id: 'f2' });
    const txt = rec('c.example.com', { type: 'TXT', content: 'v=spf1', comment: null });
    const r = plan(['a.example.com', 'b.example.com', 'c.example.com'], [foreign, other, txt]);
    expect(summary(r)).toEqual(['create dns/c.example.com: in inventory, no record yet']);
    expect(r.conflicts).toEqual([
      {
        address: 'dns/a.example.com',
        message:
          'A a.example.com → 192.0.2.1 (id f1) in zone example.com is not managed by proxflare; tunnel homelab cannot route a.example.com',
        hint: expect.stringContaining('--adopt') as unknown as string,
      },
      {
        address: 'dns/b.example.com',
        message: expect.stringContaining('managed by proxflare for another tunnel (other)') as unknown as string,
        hint: expect.stringContaining('--adopt') as unknown as string,
      },
    ]);
  });

  it('with adopt, updates the foreign record in place, marks it ours and removes its siblings', () => {
    const a = rec('a.example.com', { type: 'A', content: '192.0.2.1', comment: null, id: 'fa' });
    const aaaa = rec('a.example.com', { type: 'AAAA', content: '2001:db8::1', comment: null, id: 'f6' });
    const r = plan(['a.example.com'], [a, aaaa], { adopt: ADOPT_ALL });
    expect(r.changes.map((c) => [c.action, c.before?.id, c.after?.comment])).toEqual([
      ['delete', 'f6', undefined],
      ['update', 'fa', OURS],
    ]);
    expect(r.changes[1]!.reason).toContain('adopted (was A a.example.com → 192.0.2.1');
    expect(r.conflicts).toEqual([]);
  });

  it('a record pointing at our tunnel without the marker is a warning and left alone', () => {
    const lost = rec('a.example.com', { comment: null });
    const stray = rec('z.example.com', { comment: 'edited by hand' });
    const r = plan(['a.example.com'], [lost, stray]);
    expect(r.changes).toEqual([]);
    expect(r.conflicts).toEqual([]);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toContain('dns/a.example.com');
    expect(r.warnings[0]).toContain('--adopt');
    expect(r.warnings[1]).toContain('dns/z.example.com');
  });

  it('removes a duplicate of our own record on the same hostname', () => {
    const keep = rec('a.example.com');
    const dup = rec('a.example.com', { type: 'A', content: '192.0.2.1' });
    const r = plan(['a.example.com'], [dup, keep]);
    expect(r.changes.map((c) => [c.action, c.before?.id])).toEqual([
      ['noop', keep.id],
      ['delete', dup.id],
    ]);
  });

  it('refuses mass deletes beyond maxDeletes, listing them, unless allowed', () => {
    const records = Array.from({ length: 4 }, (_, i) => rec(`h${i}.example.com`));
    const r = plan([], records, { maxDeletes: 3 });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('refusing to delete 4 DNS records (more than the limit of 3)');
    expect(r.errors[0]).toContain('h0.example.com, h1.example.com, h2.example.com, h3.example.com');
    expect(r.errors[0]).toContain('--allow-mass-delete');
    expect(plan([], records, { maxDeletes: 3, allowMassDelete: true }).errors).toEqual([]);
    expect(plan([], records, { maxDeletes: 4 }).errors).toEqual([]);
  });

  it('refuses deleting more than half of what we own when we own more than 4', () => {
    const records = Array.from({ length: 6 }, (_, i) => rec(`h${i}.example.com`));
    expect(plan(['h0.example.com', 'h1.example.com', 'h2.example.com'], records, { maxDeletes: 100 }).errors).toEqual([]);
    const r = plan(['h0.example.com', 'h1.example.com'], records, { maxDeletes: 100 });
    expect(r.errors[0]).toContain('more than half of the 6 records');
  });

  it('errors on a hostname outside every zone', () => {
    const r = plan(['a.example.org'], []);
    expect(r.errors[0]).toContain('dns/a.example.org: hostname is not inside any configured zone (example.com)');
  });

  it('keeps each change in its own zone', () => {
    const r = planDns({
      hostnames: ['a.example.com', 'b.lab.example.com'],
      zones: [
        { zoneId: 'z1', zoneName: 'example.com', records: [] },
        { zoneId: 'z2', zoneName: 'lab.example.com', records: [rec('old.lab.example.com', { zoneId: 'z2', zoneName: 'lab.example.com' })] },
      ],
      tunnelId: TID,
      tunnelName: 'homelab',
      adopt: ADOPT_NOTHING,
      maxDeletes: 10,
      allowMassDelete: false,
    });
    expect(r.changes.map((c) => `${c.action} ${c.address} ${c.zoneId}`)).toEqual([
      'create dns/a.example.com z1',
      'create dns/b.lab.example.com z2',
      'delete dns/old.lab.example.com z2',
    ]);
  });
});
