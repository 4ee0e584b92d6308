/**
 * Ingress rules as proxflare renders them into cloudflared's config.yml, and their order.
 * cloudflared uses the first matching rule, so order is semantics: the path rules of one
 * hostname stay in the order the inventory lists them (the user's order is the routing),
 * while hostnames are grouped exact first, then wildcards (deeper first), then any-host
 * rules, which changes nothing a request sees but makes the output stable.
 */
import { InternalError } from '../core/errors.js';
import { pathCovers } from '../ingress/path-coverage.js';
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
  /** One sentence per rule that may be shadowed where proxflare cannot decide it (complex regexps). */
  undecided: string[];
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

type HostClass = 0 | 1 | 2;

/** 0: exact hostname, 1: `*.domain` wildcard, 2: any host (`*` or '' with a path). */
function hostClass(hostname: string): HostClass {
  if (hostname === '' || hostname === '*') return 2;
  return hostname.startsWith('*') ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Between hostnames only (a stable sort keeps each hostname's rules in input order): exact
 * before wildcard before any-host, deeper wildcards first, then alphabetical. Within one
 * hostname the path rules keep their order and the path-less rule, the hostname's fallback,
 * comes after them.
 */
function compareRules(a: IngressRule, b: IngressRule): number {
  const ca = hostClass(a.hostname);
  const cb = hostClass(b.hostname);
  if (ca !== cb) return ca - cb;
  if (ca === 1) {
    // A deeper wildcard (*.apps.example.com) is more specific than a shallower one (*.example.com).
    const depth = b.hostname.split('.').length - a.hostname.split('.').length;
    if (depth !== 0) return depth;
  }
  if (ca === 2) return (a.path === undefined ? 1 : 0) - (b.path === undefined ? 1 : 0);
  const byHost = compareStrings(a.hostname, b.hostname);
  if (byHost !== 0) return byHost;
  return (a.path === undefined ? 1 : 0) - (b.path === undefined ? 1 : 0);
}

/** Does every hostname `inner` can match also match `outer`? */
function hostCovers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (outer === '' || outer === '*') return true;
  return outer.startsWith('*.') && inner.endsWith(outer.slice(1));
}

function describe(rule: IngressRule): string {
  const host = rule.hostname === '' ? 'any hostname' : rule.hostname;
  return `${host}${rule.path !== undefined ? ` path ${rule.path}` : ''} → ${rule.service}`;
}

/**
 * Orders rules for rendering (see compareRules) and reports every rule an earlier one makes
 * unreachable, comparing paths with the cloudflared regexp port (src/ingress/path-coverage.ts:
 * exact where decidable; otherwise the rule is listed as undecided rather than guessed).
 */
export function orderIngressRules(rules: readonly IngressRule[]): OrderedIngress {
  const ordered = [...rules].sort(compareRules);
  const shadowed: string[] = [];
  const undecided: string[] = [];
  // Earlier rules by hostname, so each rule is checked only against hostnames that could cover it.
  const seen = new Map<string, IngressRule[]>();
  for (const later of ordered) {
    const candidates = coveringHostnames(later.hostname)
      .flatMap((h) => seen.get(h) ?? [])
      .filter((r) => hostCovers(r.hostname, later.hostname));
    let shadow: IngressRule | undefined;
    const unsure: IngressRule[] = [];
    for (const earlier of candidates) {
      const coverage = pathCovers(earlier.path, later.path);
      if (coverage === 'covers') {
        shadow = earlier;
        break;
      }
      if (coverage === 'undecided') unsure.push(earlier);
    }
    const list = seen.get(later.hostname);
    if (list) list.push(later);
    else seen.set(later.hostname, [later]);
    if (shadow) {
      shadowed.push(
        `ingress rule "${describe(later)}" can never match: the earlier rule "${describe(shadow)}" already matches every request it would`,
      );
    } else if (unsure.length > 0) {
      undecided.push(
        `ingress rule "${describe(later)}" may never match: proxflare cannot decide whether the earlier rule "${describe(unsure[0]!)}" already matches every path it would (check with \`cloudflared tunnel ingress rule URL\`)`,
      );
    }
  }
  return { rules: ordered, shadowed, undecided };
}
