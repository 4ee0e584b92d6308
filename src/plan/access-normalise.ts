import type { AccessAppBody, AccessPolicyBody, AccessRule } from '../ports/access.js';
import { byCodePoint } from '../core/compare.js';

/**
 * Normal forms for comparing Access objects, so a second plan is empty however the API
 * echoes them (Terraform's Access perma-diffs, access-ha-health.md §1.6): only fields
 * the inventory owns are compared; server defaults equal their absence
 * (`session_duration: 24h`, empty lists, `destinations` mirrored from `domain`); set-like
 * lists are sorted (rules, tags, allowed_idps, override paths); durations compare by value
 * (`24h` = `1440m`); read-only fields (aud, timestamps, app_count, reusable) are not part
 * of the forms at all. Policy order on an app is precedence, so it is kept.
 */

export interface NormalPolicy {
  name: string;
  decision: string;
  include: string[];
  exclude: string[];
  require: string[];
}

export interface NormalApp {
  name: string;
  domain: string;
  destinations: string[];
  publicPaths: string[];
  policies: string[];
  allowedIdps: string[];
  sessionNs: number | string;
  tags: string[];
}

/** Canonical JSON with sorted keys: `{email:{email:x}}` compares by value, whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => byCodePoint(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function rules(list: AccessRule[] | undefined): string[] {
  return [...new Set((list ?? []).map(normaliseRule).map(canonical))].sort();
}

/** Emails and domains are case-insensitive; the API may echo them in another case. */
function normaliseRule(rule: AccessRule): AccessRule {
  const out: AccessRule = {};
  for (const [k, v] of Object.entries(rule)) {
    const inner: Record<string, unknown> = { ...v };
    if (k === 'email' && typeof inner['email'] === 'string') inner['email'] = inner['email'].toLowerCase();
    if (k === 'email_domain' && typeof inner['domain'] === 'string') inner['domain'] = inner['domain'].toLowerCase();
    out[k] = inner;
  }
  return out;
}

export function normalisePolicy(p: AccessPolicyBody): NormalPolicy {
  return { name: p.name, decision: p.decision, include: rules(p.include), exclude: rules(p.exclude), require: rules(p.require) };
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration (the format Access documents for session_duration); the text itself when it does not parse. */
export function durationNs(text: string | undefined): number | string {
  if (text === undefined || text === '') return durationNs('24h');
  const re = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    matched += m[0].length;
  }
  return matched === text.length && matched > 0 ? Math.round(total) : text;
}

const host = (uri: string) => uri.toLowerCase().replace(/\/+$/, '');

export function normaliseApp(a: AccessAppBody): NormalApp {
  const publics = (a.destinations ?? []).filter((d) => (d.type ?? 'public') === 'public');
  // The API mirrors `domain` into destinations when none were sent.
  const destinations = publics.length > 0 ? [...new Set(publics.map((d) => host(d.uri)))].sort() : [host(a.domain)];
  const publicPaths = [
    ...new Set(publics.flatMap((d) => (d.overrides ?? []).filter((o) => o.behavior === 'public').map((o) => o.path_pattern))),
  ].sort();
  return {
    name: a.name,
    domain: host(a.domain),
    destinations,
    publicPaths,
    policies: [...a.policies],
    allowedIdps: [...new Set(a.allowed_idps ?? [])].sort(),
    sessionNs: durationNs(a.session_duration),
    tags: [...new Set(a.tags ?? [])].sort(),
  };
}

export function samePolicy(a: NormalPolicy, b: NormalPolicy): boolean {
  return canonical(a) === canonical(b);
}

export function sameApp(a: NormalApp, b: NormalApp): boolean {
  return canonical(a) === canonical(b);
}
