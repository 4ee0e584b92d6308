import Cloudflare, { APIError } from 'cloudflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import facts from '../../fixtures/cloudflare/facts.json' with { type: 'json' };
import { startCloudflareSim, type CloudflareSim } from '../../../src/sim/cloudflare/start-cloudflare-sim.js';

/**
 * The simulator's own behaviour, driven through the official SDK (and raw HTTP where the
 * SDK would not send the request), per the facts in test/fixtures/cloudflare/.
 */

let sim: CloudflareSim;
let cf: Cloudflare;
let zoneId: string;
let proZoneId: string;

beforeAll(async () => {
  sim = await startCloudflareSim({
    zones: [{ name: 'example.com' }, { name: 'paid.example', plan: 'pro' }, { name: 'tiny.example', recordQuota: 1 }],
  });
  cf = new Cloudflare({ apiToken: sim.token, baseURL: sim.url, maxRetries: 0 });
  zoneId = sim.state.zoneByName('example.com')!.id;
  proZoneId = sim.state.zoneByName('paid.example')!.id;
});
afterAll(async () => {
  await sim.close();
});

async function apiError(p: Promise<unknown>): Promise<{ status: number; codes: number[]; chain: number[] }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(APIError);
  const e = err as APIError;
  const errors = e.errors as { code: number; error_chain?: { code: number }[] }[];
  return {
    status: e.status as number,
    codes: errors.map((x) => x.code),
    chain: errors.flatMap((x) => (x.error_chain ?? []).map((c) => c.code)),
  };
}

async function raw(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = sim.token,
): Promise<{ status: number; json: any; type: string | null }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json(), type: res.headers.get('content-type') };
}

const cname = (name: string, content = 'x.cfargotunnel.com') => ({
  zone_id: zoneId,
  type: 'CNAME' as const,
  name,
  content,
  ttl: 1 as const,
  proxied: true,
});

describe('envelope, auth and routing', () => {
  it('answers in the v4 envelope with content-type application/json', async () => {
    const r = await raw('GET', '/zones?name=example.com');
    expect(r.type).toBe('application/json');
    expect(r.json).toMatchObject({ success: true, errors: [], messages: [], result_info: { page: 1, count: 1, total_count: 1 } });
    expect(r.json.result[0]).toMatchObject({ name: 'example.com', status: 'active', plan: { legacy_id: 'free' } });
  });

  it('401 code 10000 without a known bearer token, 403 when the token lacks the permission', async () => {
    const none = await raw('GET', '/zones', undefined, null);
    expect([none.status, none.json.errors[0].code, none.json.success, none.json.result]).toEqual([
      401,
      facts.errors.authentication,
      false,
      null,
    ]);
    expect((await raw('GET', '/zones', undefined, 'nope')).status).toBe(401);
    sim.state.tokens.set('dns-only', { token: 'dns-only', permissions: ['Zone: DNS Read'] });
    const forbidden = await raw('POST', `/zones/${zoneId}/dns_records`, { type: 'A', name: 'x', content: '192.0.2.1' }, 'dns-only');
    expect([forbidden.status, forbidden.json.errors[0].code]).toEqual([403, facts.errors.authentication]);
    expect((await raw('GET', `/zones/${zoneId}/dns_records`, undefined, 'dns-only')).status).toBe(200);
  });

  it('404 7003 for routes outside the subset, 405 for a wrong method', async () => {
    expect((await raw('GET', '/user/billing/profile')).json.errors[0].code).toBe(facts.errors.noRoute);
    expect((await raw('DELETE', '/zones')).status).toBe(405);
  });
});

describe('request validation against the OpenAPI subset', () => {
  it('rejects a malformed request with a 400 and records it', async () => {
    const before = sim.validationFailures.length;
    const bad = await raw('POST', `/zones/${zoneId}/dns_records`, { type: 'CNAME', content: 'x.example.net', ttl: 5 });
    expect(bad.status).toBe(400);
    expect(bad.json.success).toBe(false);
    expect(bad.json.errors.map((e: { message: string }) => e.message).join(' ')).toContain('ttl must be >= 30');
    const perPage = await raw('GET', '/zones?per_page=500');
    expect(perPage.status).toBe(400);
    expect(perPage.json.errors[0].message).toContain(`per_page must be <= ${facts.limits.zonesPerPageMax}`);
    const json = await raw('POST', `/zones/${zoneId}/dns_records`, '{not json');
    expect([json.status, json.json.errors[0].code]).toEqual([400, facts.errors.malformedJson]);
    expect(sim.validationFailures.length - before).toBe(2);
    sim.validationFailures.length = before;
  });

  it('accepts every request the SDK sends for the calls proxflare uses', async () => {
    const before = sim.validationFailures.length;
    const t = await cf.zeroTrust.tunnels.cloudflared.create({
      account_id: sim.accountId,
      name: 'validation',
      config_src: 'local',
      tunnel_secret: Buffer.alloc(32, 7).toString('base64'),
    });
    await cf.zeroTrust.tunnels.cloudflared.list({ account_id: sim.accountId, name: 'validation', is_deleted: false });
    await cf.zeroTrust.tunnels.cloudflared.get(t.id!, { account_id: sim.accountId });
    await cf.zeroTrust.tunnels.cloudflared.token.get(t.id!, { account_id: sim.accountId });
    const r = await cf.dns.records.create(cname('validation.example.com'));
    await cf.dns.records.update(r.id, cname('validation.example.com', 'y.cfargotunnel.com'));
    await cf.dns.records.list({ zone_id: zoneId, name: { exact: 'validation.example.com' }, comment: { startswith: 'managed' } });
    await cf.dns.records.batch({
      zone_id: zoneId,
      deletes: [{ id: r.id }],
      posts: [{ type: 'CNAME', name: 'v2.example.com', content: 'z.cfargotunnel.com', ttl: 1 }],
    });
    const v2 = sim.state.records('example.com').find((x) => x.name === 'v2.example.com')!;
    await cf.dns.records.delete(v2.id, { zone_id: zoneId });
    await cf.zeroTrust.tunnels.cloudflared.delete(t.id!, { account_id: sim.accountId });
    expect(sim.validationFailures.slice(before)).toEqual([]);
  });
});

describe('pagination and filters', () => {
  it('returns an empty result past the last page', async () => {
    for (let i = 0; i < 5; i++) sim.state.seedRecord('paid.example', { name: `p${i}`, type: 'TXT', content: `v${i}` });
    const pages: number[] = [];
    let page = await cf.dns.records.list({ zone_id: proZoneId, per_page: 2 });
    for (;;) {
      pages.push(page.result.length);
      if (!page.hasNextPage()) break;
      page = await page.getNextPage();
    }
    expect(pages).toEqual([2, 2, 1, 0]);
  });

  it('understands the dotted filters the SDK sends', async () => {
    sim.state.seedRecord('paid.example', {
      name: 'f1',
      type: 'CNAME',
      content: 'a.example.net',
      comment: 'Managed by proxflare: tunnel a',
    });
    sim.state.seedRecord('paid.example', { name: 'f2', type: 'CNAME', content: 'b.example.net', comment: 'other' });
    const names = async (q: Record<string, unknown>) => {
      const out: string[] = [];
      for await (const r of cf.dns.records.list({ zone_id: proZoneId, ...q })) out.push(r.name);
      return out;
    };
    expect(await names({ name: { exact: 'F1.paid.example' } })).toEqual(['f1.paid.example']);
    expect(await names({ comment: { startswith: 'managed by' } })).toEqual(['f1.paid.example']);
    expect(await names({ content: { endswith: 'example.net' }, type: 'CNAME' })).toEqual(['f1.paid.example', 'f2.paid.example']);
    expect(await names({ name: { startswith: 'f' }, comment: { exact: 'other' }, match: 'any' })).toEqual([
      'f1.paid.example',
      'f2.paid.example',
    ]);
  });
});

describe('DNS semantics', () => {
  it('stores names as lower-case FQDNs and forces ttl 1 on proxied records', async () => {
    const r = await cf.dns.records.create({
      zone_id: zoneId,
      type: 'CNAME',
      name: 'Mixed.Case',
      content: 'x.cfargotunnel.com',
      ttl: 300,
      proxied: true,
    });
    expect([r.name, r.ttl, r.proxied]).toEqual(['mixed.case.example.com', 1, true]);
  });

  it('enforces CNAME exclusivity (81053/81054) and identical records (81058, as today)', async () => {
    await cf.dns.records.create({ zone_id: zoneId, type: 'A', name: 'excl.example.com', content: '192.0.2.1', ttl: 1 });
    expect(await apiError(cf.dns.records.create(cname('excl.example.com')))).toMatchObject({
      status: 400,
      codes: [facts.errors.cnameConflictWithExisting],
    });
    await cf.dns.records.create(cname('c.example.com'));
    expect(
      (await apiError(cf.dns.records.create({ zone_id: zoneId, type: 'A', name: 'c.example.com', content: '192.0.2.1', ttl: 1 }))).codes,
    ).toEqual([facts.errors.cnameAlreadyExistsForAddress]);
    expect(
      (await apiError(cf.dns.records.create({ zone_id: zoneId, type: 'A', name: 'excl.example.com', content: '192.0.2.1', ttl: 1 }))).codes,
    ).toEqual([facts.errors.recordAlreadyExists]);
  });

  it('limits comments to 100 characters and tags to 0 on Free (1004 with error_chain)', async () => {
    const long = cf.dns.records.create({ ...cname('long.example.com'), comment: 'x'.repeat(facts.limits.commentCharsFree + 1) });
    expect(await apiError(long)).toMatchObject({ status: 400, codes: [facts.errors.dnsValidation], chain: [facts.errors.commentTooLong] });
    const tagged = cf.dns.records.create({ ...cname('tagged.example.com'), tags: ['owner:proxflare'] });
    expect(await apiError(tagged)).toMatchObject({ codes: [facts.errors.dnsValidation], chain: [facts.errors.tagsQuota] });
    const pro = await cf.dns.records.create({
      zone_id: proZoneId,
      type: 'CNAME',
      name: 'tagged',
      content: 'x.example.net',
      ttl: 1,
      comment: 'x'.repeat(300),
      tags: ['owner:proxflare'],
    });
    expect(pro.tags).toEqual(['owner:proxflare']);
  });

  it('refuses creates beyond the zone record quota (81045)', async () => {
    const tiny = sim.state.zoneByName('tiny.example')!.id;
    await cf.dns.records.create({ zone_id: tiny, type: 'TXT', name: 'one', content: 'x', ttl: 1 });
    expect((await apiError(cf.dns.records.create({ zone_id: tiny, type: 'TXT', name: 'two', content: 'x', ttl: 1 }))).codes).toEqual([
      facts.errors.recordQuotaExceeded,
    ]);
  });

  it('runs a batch as deletes, patches, puts, posts in one all-or-nothing transaction', async () => {
    const a = await cf.dns.records.create({ zone_id: zoneId, type: 'A', name: 'swap.example.com', content: '192.0.2.1', ttl: 1 });
    // Posted CNAME only fits because the delete of the A record runs first.
    const done = await cf.dns.records.batch({
      zone_id: zoneId,
      posts: [{ type: 'CNAME', name: 'swap.example.com', content: 'x.cfargotunnel.com', ttl: 1 }],
      deletes: [{ id: a.id }],
    });
    expect(done.deletes?.map((d) => d.id)).toEqual([a.id]);
    expect(done.posts?.map((p) => p.name)).toEqual(['swap.example.com']);

    const count = sim.state.records('example.com').length;
    const failing = cf.dns.records.batch({
      zone_id: zoneId,
      posts: [
        { type: 'CNAME', name: 'fresh.example.com', content: 'x.cfargotunnel.com', ttl: 1 },
        { type: 'CNAME', name: 'swap.example.com', content: 'y.cfargotunnel.com', ttl: 1 },
      ],
    });
    expect((await apiError(failing)).codes).toEqual([facts.errors.cnameConflictWithExisting]);
    expect(sim.state.records('example.com')).toHaveLength(count);

    const tooMany = Array.from({ length: facts.limits.batchOperationsFree + 1 }, (_, i) => ({
      type: 'TXT' as const,
      name: `bulk${i}`,
      content: 'x',
      ttl: 1 as const,
    }));
    expect((await apiError(cf.dns.records.batch({ zone_id: zoneId, posts: tooMany }))).status).toBe(400);
    expect(sim.state.records('example.com')).toHaveLength(count);
  });

  it('404 81044 for an unknown record id', async () => {
    expect(await apiError(cf.dns.records.delete('0'.repeat(32), { zone_id: zoneId }))).toMatchObject({
      status: 404,
      codes: [facts.errors.recordDoesNotExist],
    });
  });
});

describe('tunnels', () => {
  it('has UUID ids, a token consistent with the secret, soft delete and 409/1013 among non-deleted only', async () => {
    const secret = Buffer.alloc(32, 1).toString('base64');
    const t = await cf.zeroTrust.tunnels.cloudflared.create({
      account_id: sim.accountId,
      name: 'lab',
      config_src: 'local',
      tunnel_secret: secret,
    });
    expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const token = await cf.zeroTrust.tunnels.cloudflared.token.get(t.id!, { account_id: sim.accountId });
    expect(JSON.parse(Buffer.from(token, 'base64').toString())).toEqual({ a: sim.accountId, s: secret, t: t.id });

    const dup = cf.zeroTrust.tunnels.cloudflared.create({
      account_id: sim.accountId,
      name: 'lab',
      config_src: 'local',
      tunnel_secret: secret,
    });
    expect(await apiError(dup)).toMatchObject({ status: 409, codes: [facts.errors.tunnelNameConflict] });

    sim.state.setTunnelConnections(t.id!, 2);
    expect((await apiError(cf.zeroTrust.tunnels.cloudflared.delete(t.id!, { account_id: sim.accountId }))).codes).toEqual([
      facts.errors.tunnelHasConnections,
    ]);
    sim.state.setTunnelConnections(t.id!, 0);
    const deleted = await cf.zeroTrust.tunnels.cloudflared.delete(t.id!, { account_id: sim.accountId });
    expect(deleted.deleted_at).toBeTruthy();
    const deletedOnly = await cf.zeroTrust.tunnels.cloudflared.list({ account_id: sim.accountId, name: 'lab', is_deleted: true });
    expect(deletedOnly.result.map((x) => x.deleted_at !== null)).toEqual([true]);
    // Since 2025-12-01 an omitted is_deleted means active tunnels only.
    const omitted = await cf.zeroTrust.tunnels.cloudflared.list({ account_id: sim.accountId, name: 'lab' });
    expect(omitted.result).toEqual([]);
    const again = await cf.zeroTrust.tunnels.cloudflared.create({
      account_id: sim.accountId,
      name: 'lab',
      config_src: 'local',
      tunnel_secret: secret,
    });
    expect(again.id).not.toBe(t.id);
    const live = await cf.zeroTrust.tunnels.cloudflared.list({ account_id: sim.accountId, name: 'lab', is_deleted: false });
    expect(live.result.map((x) => x.id)).toEqual([again.id]);
  });

  it('refuses a secret shorter than 32 bytes', async () => {
    const short = cf.zeroTrust.tunnels.cloudflared.create({
      account_id: sim.accountId,
      name: 'short',
      tunnel_secret: Buffer.alloc(16).toString('base64'),
    });
    expect((await apiError(short)).status).toBe(400);
  });
});

describe("today's API where the 2024 schema is older", () => {
  it('tunnel objects carry no connections; the connections endpoint lists each connector', async () => {
    const t = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: sim.accountId, name: 'conns', config_src: 'local' });
    const none = await cf.zeroTrust.tunnels.cloudflared.connections.get(t.id!, { account_id: sim.accountId });
    expect(none.result).toEqual([]);
    const connectorId = sim.state.setTunnelConnections(t.id!, 4, { version: '2026.8.2' })!;
    const got = await cf.zeroTrust.tunnels.cloudflared.get(t.id!, { account_id: sim.accountId });
    expect(got.status).toBe('healthy');
    expect(got).not.toHaveProperty('connections');
    const listed = await cf.zeroTrust.tunnels.cloudflared.list({ account_id: sim.accountId, name: 'conns' });
    expect(listed.result[0]).not.toHaveProperty('connections');
    const clients = (await cf.zeroTrust.tunnels.cloudflared.connections.get(t.id!, { account_id: sim.accountId })).result;
    expect(clients.map((c) => [c.id, c.version, c.conns?.length, c.conns?.every((x) => x.client_id === c.id)])).toEqual([
      [connectorId, '2026.8.2', 4, true],
    ]);
    expect(clients[0]!.run_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const one = await cf.zeroTrust.tunnels.cloudflared.connectors.get(connectorId, { account_id: sim.accountId, tunnel_id: t.id! });
    expect(one.id).toBe(connectorId);
    // A cloudflared that still runs reconnects at once after a cleanup; a stopped one is gone for good.
    sim.state.connectorStopped(t.id!, connectorId);
    await cf.zeroTrust.tunnels.cloudflared.connections.delete(t.id!, { account_id: sim.accountId, client_id: connectorId });
    expect((await cf.zeroTrust.tunnels.cloudflared.connections.get(t.id!, { account_id: sim.accountId })).result).toEqual([]);
  });

  it('zone objects carry every field the schema requires', async () => {
    const zone = await cf.zones.get({ zone_id: zoneId });
    for (const field of [
      'owner',
      'meta',
      'original_name_servers',
      'original_registrar',
      'original_dnshost',
      'activated_on',
      'account',
      'name_servers',
    ]) {
      expect(zone).toHaveProperty(field);
    }
  });

  it('a malformed bearer token gets 400 6003 with 6111 in the chain', async () => {
    const { status, json } = await raw('GET', '/zones', undefined, 'not a "token"');
    expect(status).toBe(400);
    expect(json.errors[0].code).toBe(facts.errors.invalidRequestHeaders);
    expect(json.errors[0].error_chain.map((e: { code: number }) => e.code)).toEqual([facts.errors.invalidAuthorizationHeaderFormat]);
  });

  it('an IDN zone is listed by its Unicode name; record names stay punycode', async () => {
    const idn = await startCloudflareSim({ zones: [{ name: 'xn--bcher-kva.example' }] });
    try {
      const client = new Cloudflare({ apiToken: idn.token, baseURL: idn.url, maxRetries: 0 });
      const zones = await client.zones.list({ name: 'bücher.example' });
      expect(zones.result.map((z) => z.name)).toEqual(['bücher.example']);
      expect((await client.zones.list({ name: 'xn--bcher-kva.example' })).result).toEqual([]);
      const r = await client.dns.records.create({
        zone_id: zones.result[0]!.id,
        type: 'CNAME',
        name: 'wiki.bücher.example',
        content: 'x.cfargotunnel.com',
        ttl: 1,
        proxied: true,
      });
      expect(r.name).toBe('wiki.xn--bcher-kva.example');
    } finally {
      await idn.close();
    }
  });
});
