import { dnsValidation, fail, ok, paginate, type SimResponse } from './envelope.js';
import { newId, normalizeName, nowIso, PROXIABLE_TYPES, type SimRecord, type SimState, type SimZone } from './sim-state.js';

type Body = Record<string, unknown>;

const COMMENT_LIMIT = { free: 100, pro: 500 } as const;
/** Operations per batch request by plan (developers.cloudflare.com batch-record-changes). */
export const BATCH_LIMIT = { free: 200, pro: 3500 } as const;
const EXCLUSIVE = new Set(['A', 'AAAA', 'CNAME']);

export function zoneOrFail(state: SimState, zoneId: string): SimZone {
  const zone = state.zones.get(zoneId);
  // Real API: an unknown zone id does not route.
  if (!zone) throw fail(404, 7003, `Could not route to /zones/${zoneId}/dns_records, perhaps your object identifier is invalid?`);
  return zone;
}

function text(match: string, value: string, op: string): boolean {
  const v = value.toLowerCase();
  const m = match.toLowerCase();
  if (op === 'exact') return v === m;
  if (op === 'contains') return v.includes(m);
  if (op === 'startswith') return v.startsWith(m);
  if (op === 'endswith') return v.endsWith(m);
  return false;
}

type Predicate = (r: SimRecord) => boolean;

/** The dotted filters the SDK sends (qs allowDots): `name.exact=`, `comment.startswith=`, ... */
function filters(query: URLSearchParams): Predicate[] {
  const out: Predicate[] = [];
  const ops = ['exact', 'contains', 'startswith', 'endswith'];
  for (const field of ['name', 'content', 'comment'] as const) {
    const alias = query.get(field);
    if (alias !== null) out.push((r) => text(alias, r[field] ?? '', 'exact'));
    for (const op of ops) {
      const v = query.get(`${field}.${op}`);
      if (v !== null) out.push((r) => r[field] !== null && text(v, r[field] ?? '', op));
    }
  }
  if (query.has('comment.present')) out.push((r) => r.comment !== null && r.comment !== '');
  if (query.has('comment.absent')) out.push((r) => r.comment === null || r.comment === '');
  const type = query.get('type');
  if (type !== null) out.push((r) => r.type === type.toUpperCase());
  const proxied = query.get('proxied');
  if (proxied !== null) out.push((r) => r.proxied === (proxied === 'true'));
  const tagPresent = query.get('tag.present');
  if (tagPresent !== null) out.push((r) => r.tags.some((t) => t.split(':')[0]!.toLowerCase() === tagPresent.toLowerCase()));
  const tagExact = query.get('tag.exact') ?? query.get('tag');
  if (tagExact !== null) {
    out.push((r) =>
      r.tags.some((t) =>
        tagExact.includes(':') ? t.toLowerCase() === tagExact.toLowerCase() : t.split(':')[0]!.toLowerCase() === tagExact.toLowerCase(),
      ),
    );
  }
  const search = query.get('search');
  if (search !== null) out.push((r) => [r.name, r.content, r.comment ?? ''].some((v) => v.toLowerCase().includes(search.toLowerCase())));
  return out;
}

function present(r: SimRecord): SimRecord {
  return { ...r, tags: [...r.tags], settings: { ...r.settings }, meta: { ...r.meta } };
}

export function listRecords(state: SimState, zoneId: string, query: URLSearchParams): SimResponse {
  const zone = zoneOrFail(state, zoneId);
  const preds = filters(query);
  const any = query.get('match') === 'any';
  let records = [...zone.records.values()].filter((r) =>
    preds.length === 0 ? true : any ? preds.some((p) => p(r)) : preds.every((p) => p(r)),
  );
  const order = query.get('order');
  if (order === 'type' || order === 'name' || order === 'content' || order === 'ttl' || order === 'proxied') {
    const dir = query.get('direction') === 'desc' ? -1 : 1;
    records = [...records].sort((a, b) => (String(a[order]) < String(b[order]) ? -dir : String(a[order]) > String(b[order]) ? dir : 0));
  }
  const { page, info } = paginate(records, query, 100);
  return ok(page.map(present), info);
}

export function getRecord(state: SimState, zoneId: string, id: string): SimResponse {
  const zone = zoneOrFail(state, zoneId);
  const record = zone.records.get(id);
  if (!record) throw fail(404, 81044, 'Record does not exist.');
  return ok(present(record));
}

/** The zone's records with a name index, so a 1,000-operation batch stays linear. */
class RecordSet {
  readonly #byName = new Map<string, Set<string>>();
  constructor(readonly byId: Map<string, SimRecord>) {
    for (const r of byId.values()) this.#index(r);
  }
  get size(): number {
    return this.byId.size;
  }
  get(id: string): SimRecord | undefined {
    return this.byId.get(id);
  }
  set(r: SimRecord): void {
    const old = this.byId.get(r.id);
    if (old) this.#byName.get(old.name)?.delete(old.id);
    this.byId.set(r.id, r);
    this.#index(r);
  }
  delete(id: string): void {
    const old = this.byId.get(id);
    if (old) this.#byName.get(old.name)?.delete(id);
    this.byId.delete(id);
  }
  named(name: string): SimRecord[] {
    return [...(this.#byName.get(name) ?? [])].map((id) => this.byId.get(id)!);
  }
  #index(r: SimRecord): void {
    let ids = this.#byName.get(r.name);
    if (!ids) this.#byName.set(r.name, (ids = new Set()));
    ids.add(r.id);
  }
}

/** Builds the record a write would store, enforcing the rules the real API enforces. */
function buildRecord(zone: SimZone, records: RecordSet, body: Body, existing: SimRecord | undefined): SimRecord {
  const merged: Body = existing ? { ...existing, ...body } : body;
  const type = String(merged['type'] ?? '').toUpperCase();
  const name = normalizeName(String(merged['name'] ?? ''), zone.asciiName);
  const content = String(merged['content'] ?? '');
  const proxied = merged['proxied'] === true;
  const tags = Array.isArray(merged['tags']) ? (merged['tags'] as unknown[]).map(String) : [];
  const comment = typeof merged['comment'] === 'string' && merged['comment'] !== '' ? merged['comment'] : null;

  if (proxied && !PROXIABLE_TYPES.has(type)) throw fail(400, 9004, 'This record type cannot be proxied.');
  if (type === 'CNAME' && content.toLowerCase().replace(/\.$/, '') === name) {
    throw fail(400, 9039, 'CNAME content cannot reference itself.');
  }
  if (tags.length > 0 && zone.plan === 'free') {
    throw dnsValidation(9300, `DNS record has ${tags.length} tags, exceeding the quota of 0.`);
  }
  const limit = COMMENT_LIMIT[zone.plan];
  if (comment !== null && Array.from(comment).length > limit) {
    throw dnsValidation(9313, `DNS record comment exceeds the maximum length of ${limit} characters.`);
  }
  for (const other of records.named(name)) {
    if (other.id === existing?.id) continue;
    if (other.type === type && other.content.toLowerCase() === content.toLowerCase()) {
      // Today's API answers 81058 (jeessy2/ddns-go#1378, 2025); 81057 is the older code.
      throw fail(400, 81058, 'An identical record already exists.');
    }
    if (type === 'CNAME' && EXCLUSIVE.has(other.type)) {
      throw fail(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
    }
    if ((type === 'A' || type === 'AAAA') && other.type === 'CNAME') {
      throw fail(400, 81054, 'A CNAME record with that host already exists.');
    }
  }
  const at = nowIso();
  return {
    id: existing?.id ?? newId(),
    zone_id: zone.id,
    zone_name: zone.name,
    name,
    type,
    content: type === 'CNAME' ? content.toLowerCase().replace(/\.$/, '') : content,
    proxied,
    proxiable: PROXIABLE_TYPES.has(type),
    // Proxied records always have TTL "auto"; the API does not keep another value.
    ttl: proxied ? 1 : Number(merged['ttl'] ?? 1),
    comment,
    tags,
    settings: (merged['settings'] as Record<string, unknown> | undefined) ?? {},
    meta: {},
    created_on: existing?.created_on ?? at,
    modified_on: at,
  };
}

function create(zone: SimZone, records: RecordSet, body: Body): SimRecord {
  if (records.size >= zone.recordQuota) throw fail(400, 81045, 'Record quota exceeded.');
  const record = buildRecord(zone, records, body, undefined);
  records.set(record);
  return record;
}

function replace(zone: SimZone, records: RecordSet, id: string, body: Body, patch: boolean): SimRecord {
  const existing = records.get(id);
  if (!existing) throw fail(404, 81044, 'Record does not exist.');
  const input = patch ? body : { ...body, tags: body['tags'] ?? [], comment: body['comment'] ?? null };
  const record = buildRecord(zone, records, input, existing);
  records.set(record);
  return record;
}

function remove(records: RecordSet, id: string): SimRecord {
  const existing = records.get(id);
  if (!existing) throw fail(404, 81044, 'Record does not exist.');
  records.delete(id);
  return existing;
}

export function createRecord(state: SimState, zoneId: string, body: Body): SimResponse {
  const zone = zoneOrFail(state, zoneId);
  return ok(present(create(zone, new RecordSet(zone.records), body)));
}

export function updateRecord(state: SimState, zoneId: string, id: string, body: Body, patch: boolean): SimResponse {
  const zone = zoneOrFail(state, zoneId);
  return ok(present(replace(zone, new RecordSet(zone.records), id, body, patch)));
}

export function deleteRecord(state: SimState, zoneId: string, id: string): SimResponse {
  const zone = zoneOrFail(state, zoneId);
  remove(new RecordSet(zone.records), id);
  return ok({ id });
}

/**
 * One transaction: deletes, patches, puts, posts in that order on a copy of the zone;
 * the copy replaces the zone only if every operation succeeded.
 */
export function batchRecords(state: SimState, zoneId: string, body: Body): SimResponse {
  const zone = zoneOrFail(state, zoneId);
  const list = (key: string): Body[] => (Array.isArray(body[key]) ? (body[key] as Body[]) : []);
  const deletes = list('deletes');
  const patches = list('patches');
  const puts = list('puts');
  const posts = list('posts');
  const total = deletes.length + patches.length + puts.length + posts.length;
  const limit = BATCH_LIMIT[zone.plan];
  if (total > limit) {
    // Code not in the reference; the limit itself is documented per plan.
    throw fail(400, 81062, `Batch contains ${total} operations, exceeding the maximum of ${limit} for this zone's plan.`);
  }
  const draft = new RecordSet(new Map(zone.records));
  const result = {
    deletes: deletes.map((d) => present(remove(draft, String(d['id'])))),
    patches: patches.map((p) => present(replace(zone, draft, String(p['id']), withoutId(p), true))),
    puts: puts.map((p) => present(replace(zone, draft, String(p['id']), withoutId(p), false))),
    posts: posts.map((p) => present(create(zone, draft, p))),
  };
  zone.records.clear();
  for (const [id, r] of draft.byId) zone.records.set(id, r);
  return ok(result);
}

function withoutId(b: Body): Body {
  const { id: _id, ...rest } = b;
  return rest;
}
