import { fail, ok, paginate, type SimResponse } from './envelope.js';
import type { SimState, SimZone } from './sim-state.js';

/**
 * Every field the zone schema marks required (owner, meta, original_* and activated_on
 * included), as a zone added through the dashboard shows them.
 */
function presentZone(state: SimState, z: SimZone): Record<string, unknown> {
  const account = state.accounts.get(z.accountId);
  return {
    id: z.id,
    name: z.name,
    status: z.status,
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    owner: { id: z.accountId, type: 'organization', name: account?.name ?? '' },
    account: { id: z.accountId, name: account?.name ?? '' },
    meta: { step: 4, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
    permissions: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
    plan:
      z.plan === 'free'
        ? { id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee', name: 'Free Website', legacy_id: 'free' }
        : { id: 'pro', name: 'Pro Website', legacy_id: 'pro' },
    created_on: z.created_on,
    modified_on: z.created_on,
    activated_on: z.created_on,
  };
}

/** `name` takes an optional operator prefix: `contains:`, `starts_with:`, `ends_with:`, `equal:`, `not_equal:`. */
function nameMatches(filter: string, name: string): boolean {
  const m = /^(contains|starts_with|ends_with|equal|not_equal):(.*)$/.exec(filter);
  // Matched against the Unicode form the API stores: a punycode filter finds nothing (cloudflare-go#347).
  const [op, value] = m ? [m[1]!, m[2]!.toLowerCase()] : ['equal', filter.toLowerCase()];
  if (op === 'contains') return name.includes(value);
  if (op === 'starts_with') return name.startsWith(value);
  if (op === 'ends_with') return name.endsWith(value);
  if (op === 'not_equal') return name !== value;
  return name === value;
}

export function listZones(state: SimState, query: URLSearchParams): SimResponse {
  const name = query.get('name');
  const accountId = query.get('account.id');
  const status = query.get('status');
  const zones = [...state.zones.values()].filter(
    (z) =>
      (name === null || nameMatches(name, z.name)) &&
      (accountId === null || z.accountId === accountId) &&
      (status === null || z.status === status),
  );
  const { page, info } = paginate(zones, query, 20);
  return ok(
    page.map((z) => presentZone(state, z)),
    info,
  );
}

export function getZone(state: SimState, zoneId: string): SimResponse {
  const zone = state.zones.get(zoneId);
  if (!zone) throw fail(404, 7003, `Could not route to /zones/${zoneId}, perhaps your object identifier is invalid?`);
  return ok(presentZone(state, zone));
}
