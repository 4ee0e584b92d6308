/**
 * Ingress rules as proxflare renders them into cloudflared's config.yml, and the
 * deterministic order that makes the same inventory always render the same bytes.
 * cloudflared uses the first matching rule, so order is also semantics: specific
 * rules must come before the general ones that would otherwise swallow them.
 */
import { InternalError } from '../core/errors.js';
import type { ServiceSpec } from '../inventory/types.js';

export interface IngressRule {
  /** Lower-case FQDN, `*.domain`, or `*`/'' for a path-only rule. */
  hostname: string;
  /** Go RE2 regex matched (unanchored) against the request path. */
  path?: string;
  /** cloudflared service: `http://ip:port`, `unix:/path`, `http_status:404`, ... */
  service: string;
  originRequest?: Record<string, unknown>;
}

export interface OrderedIngress {
  rules: IngressRule[];
  /** One sentence per rule that can never match, naming the rule that shadows it. */
  shadowed: string[];
}

const NETWORK_SCHEMES = new Set(['http', 'https', 'tcp', 'ssh', 'rdp']);

/** The cloudflared `service:` value for a service whose origin is at `ip`. */
export function serviceUrl(service: ServiceSpec, ip: string | undefined): string {
  const where = `${service.field} (${service.hostname})`;
  switch (service.scheme) {
    case 'unix':
    case 'unix+tls':
      if (!service.socket) throw new InternalError(`${where}: a ${service.scheme} service needs a socket path`);
      return `${service.scheme}:${service.socket}`;
    // cloudflared's names for the services it serves itself (ingress/ingress.go validateIngress).
    case 'hello_world':
      return 'hello_world';
    case 'bastion':
      return 'bastion';
    case 'socks':
      return 'socks-proxy';
    case 'http_status':
      if (service.status === undefined) throw new InternalError(`${where}: an http_status service needs a status code`);
      return `http_status:${service.status}`;
    default: {
      if (!NETWORK_SCHEMES.has(service.scheme)) {
        throw new InternalError(`${where}: unsupported scheme ${String(service.scheme)}`);
      }
      if (!ip) throw new InternalError(`${where}: no origin IP was resolved for a ${service.scheme} service`);
      const host = ip.includes(':') && !ip.startsWith('[') ? `[${ip.replaceAll('%', '%25')}]` : ip;
      return `${service.scheme}://${host}${service.port !== undefined ? `:${service.port}` : ''}`;
    }
  }
}

/** Every hostname pattern that could match all of `hostname`'s requests (itself, parent wildcards, any-host). */
function coveringHostnames(hostname: string): string[] {
  const labels = hostname.split('.');
  const parents = labels.slice(1).map((_, k) => `*.${labels.slice(k + 1).join('.')}`);
  return [hostname, ...parents, '*', ''];
}

/** Regexes that match every request path (cloudflared matches unanchored). */
const MATCH_ALL_PATHS = new Set(['', '.*', '^.*', '.*$', '^.*$']);

type HostClass = 0 | 1 | 2;

/** 0: exact hostname, 1: `*.domain` wildcard, 2: any host (`*` or '' with a path). */
function hostClass(hostname: string): HostClass {
  if (hostname === '' || hostname === '*') return 2;
  return hostname.startsWith('*') ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stable, locale-independent text for the tie-breaker of otherwise equal rules. */
function canonical(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 0: a specific path, 1: a path that matches everything, 2: no path. */
function pathKind(path: string | undefined): number {
  if (path === undefined) return 2;
  return MATCH_ALL_PATHS.has(path) ? 1 : 0;
}

function compareRules(a: IngressRule, b: IngressRule): number {
  const ca = hostClass(a.hostname);
  const cb = hostClass(b.hostname);
  if (ca !== cb) return ca - cb;
  if (ca === 1) {
    // A deeper wildcard (*.apps.example.com) is more specific than a shallower one (*.example.com).
    const depth = b.hostname.split('.').length - a.hostname.split('.').length;
    if (depth !== 0) return depth;
  }
  const byHost = compareStrings(a.hostname, b.hostname);
  if (byHost !== 0) return byHost;
  const byPathKind = pathKind(a.path) - pathKind(b.path);
  if (byPathKind !== 0) return byPathKind;
  if (a.path !== undefined && b.path !== undefined) {
    if (a.path.length !== b.path.length) return b.path.length - a.path.length;
    const byPath = compareStrings(a.path, b.path);
    if (byPath !== 0) return byPath;
  }
  const byService = compareStrings(a.service, b.service);
  if (byService !== 0) return byService;
  return compareStrings(canonical(a.originRequest), canonical(b.originRequest));
}

/** Does every hostname `inner` can match also match `outer`? */
function hostCovers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (outer === '' || outer === '*') return true;
  return outer.startsWith('*.') && inner.endsWith(outer.slice(1));
}

function pathCovers(outer: string | undefined, inner: string | undefined): boolean {
  if (outer === undefined || MATCH_ALL_PATHS.has(outer)) return true;
  return outer === inner;
}

function describe(rule: IngressRule): string {
  const host = rule.hostname === '' ? 'any hostname' : rule.hostname;
  return `${host}${rule.path !== undefined ? ` path ${rule.path}` : ''} → ${rule.service}`;
}

/**
 * Orders rules so exact hostnames come before wildcards (deeper wildcards first),
 * and for the same hostname longer paths come before shorter ones, paths that
 * match everything (`.*`) after specific ones, and path rules before the path-less
 * rule; remaining ties are broken alphabetically. The result
 * does not depend on the input order.
 */
export function orderIngressRules(rules: readonly IngressRule[]): OrderedIngress {
  const ordered = [...rules].sort(compareRules);
  const shadowed: string[] = [];
  // Earlier rules by hostname, so each rule is checked only against hostnames that could cover it.
  const seen = new Map<string, IngressRule[]>();
  for (const later of ordered) {
    const earlier = coveringHostnames(later.hostname)
      .flatMap((h) => seen.get(h) ?? [])
      .find((r) => hostCovers(r.hostname, later.hostname) && pathCovers(r.path, later.path));
    const list = seen.get(later.hostname);
    if (list) list.push(later);
    else seen.set(later.hostname, [later]);
    if (earlier) {
      shadowed.push(
        `ingress rule "${describe(later)}" can never match: the earlier rule "${describe(earlier)}" already matches every request it would`,
      );
    }
  }
  return { rules: ordered, shadowed };
}
