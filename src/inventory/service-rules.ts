import { isIP } from 'node:net';
import { compileIngress } from '../ingress/validate-ingress.js';
import { isGoCidr } from '../ingress/go-net.js';
import type { IssueSink } from './issue-sink.js';

/**
 * Which fields each service type needs, and the cloudflared rules the schema cannot say.
 * Each rule follows cloudflared's own reading of config.yml (ingress/ingress.go validateIngress,
 * ingress/config.go setConfig, ipaccess/access.go), so a service that passes here renders a
 * config the ingress validator accepts and that routes as the inventory says.
 */

type Field = 'port' | 'socket' | 'status';

const NEEDS: Record<string, readonly Field[]> = {
  http: ['port'],
  https: ['port'],
  tcp: ['port'],
  ssh: ['port'],
  rdp: ['port'],
  unix: ['socket'],
  'unix+tls': ['socket'],
  http_status: ['status'],
  hello_world: [],
  bastion: [],
  socks: [],
};

const HOW_TO_ADD: Record<Field, (scheme: string) => string> = {
  port: (scheme) =>
    `add \`port: <port of the service on the guest or host>\`${scheme === 'https' ? ', e.g. 443' : scheme === 'ssh' ? ', e.g. 22' : ''}`,
  socket: () => 'add `socket: /run/app.sock` (a path on the connector)',
  status: () => 'add `status: 404` (the code to answer with)',
};

const WHY_UNUSED: Record<string, string> = {
  unix: 'the socket path replaces it',
  'unix+tls': 'the socket path replaces it',
  http_status: 'cloudflared answers itself',
  hello_world: 'cloudflared serves its own test page',
  bastion: 'the client names the destination (cloudflared access ssh --destination)',
  socks: 'the client names the destination; limit it with originRequest.ipRules',
};

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Fields per scheme, and the originRequest keys that only mean something for one scheme. */
export function checkServiceType(service: Record<string, unknown>, field: string, sink: IssueSink): void {
  const scheme = service.scheme ?? 'http';
  if (typeof scheme !== 'string' || !(scheme in NEEDS)) return;
  const needs = NEEDS[scheme]!;
  for (const key of ['port', 'socket', 'status'] as const) {
    const present = service[key] !== undefined;
    if (needs.includes(key) && !present) sink.error(`${field}.${key}`, `is required for scheme ${scheme}`, HOW_TO_ADD[key](scheme));
    if (!needs.includes(key) && present) {
      const users = Object.entries(NEEDS)
        .filter(([, n]) => n.includes(key))
        .map(([s]) => s);
      if (key === 'port') {
        sink.error(`${field}.port`, `is not used with scheme ${scheme}`, `remove \`port\`; ${WHY_UNUSED[scheme] ?? 'it has no port'}`);
      } else {
        sink.error(
          `${field}.${key}`,
          `is only used with scheme ${users.join(' or ')}`,
          `remove \`${key}\`, or set \`scheme: ${users[0]}\``,
        );
      }
    }
  }

  const originRequest = record(service.originRequest);
  const ipRules = originRequest?.ipRules;
  if (scheme === 'socks') {
    // cloudflared builds the SOCKS policy with defaultAllow=false from this rule's own ipRules only
    // (ingress/ingress.go: ipaccess.NewPolicy(false, rules)), so without rules every destination is denied.
    if (!Array.isArray(ipRules) || ipRules.length === 0) {
      sink.error(
        `${field}.originRequest.ipRules`,
        'is required for scheme socks: cloudflared denies every destination no rule allows',
        'add `originRequest: { ipRules: [{ prefix: 192.168.1.0/24, ports: [22], allow: true }] }`',
      );
    } else {
      ipRules.forEach((rule, k) => checkIpRule(record(rule), `${field}.originRequest.ipRules[${k}]`, sink));
    }
  } else if (ipRules !== undefined) {
    sink.error(`${field}.originRequest.ipRules`, 'is only used with scheme socks', 'remove `ipRules`, or set `scheme: socks`');
  }
  if (originRequest?.bastionMode === true && scheme !== 'bastion') {
    // cloudflared turns any rule with bastionMode into a bastion and ignores its service (validateIngress).
    sink.error(
      `${field}.originRequest.bastionMode`,
      `turns this ${scheme} route into a bastion: cloudflared would ignore its origin`,
      'remove `bastionMode`, or write `scheme: bastion` instead',
    );
  }
  if (originRequest?.proxyType === 'socks' && scheme !== 'socks') {
    sink.error(`${field}.originRequest.proxyType`, 'only takes effect with a local proxy', 'use `scheme: socks` for a SOCKS proxy route');
  }
}

/** ipaccess.NewRuleByCIDR: net.ParseCIDR on the prefix; ports are already ranged by the schema. */
function checkIpRule(rule: Record<string, unknown> | undefined, field: string, sink: IssueSink): void {
  if (!rule || typeof rule.prefix !== 'string') return;
  if (!isGoCidr(rule.prefix)) {
    sink.error(
      `${field}.prefix`,
      `"${rule.prefix}" is not a CIDR cloudflared accepts`,
      isIP(rule.prefix) ? `add the prefix length, e.g. ${rule.prefix}/32` : 'write a network like 192.168.1.0/24',
    );
  }
}

/** A service without `hostname` is a path rule for every hostname of the tunnel; without a path it would be the catch-all. */
export function checkHostnameless(service: Record<string, unknown>, field: string, sink: IssueSink): void {
  if (service.hostname !== undefined) return;
  if (typeof service.path !== 'string' || service.path === '') {
    sink.error(
      `${field}.hostname`,
      'is required (a route without hostname matches every request, which only the catch-all may do)',
      'add `hostname: app.example.com`, or add `path:` for a rule that applies to every hostname; set tunnel.catchAll for everything else',
    );
  }
}

/**
 * Keys of tunnel.originRequest that cloudflared does not take from the defaults the way a
 * user would expect (ingress/ingress.go validateIngress reads `access` and the SOCKS
 * `ipRules` from each rule's own originRequest; a default `bastionMode` turns every rule into a bastion).
 */
export function checkTunnelDefaults(tunnel: Record<string, unknown>, sink: IssueSink): void {
  const defaults = record(tunnel.originRequest);
  if (defaults) {
    if (defaults.access !== undefined) {
      sink.error(
        'tunnel.originRequest.access',
        "is not applied to routes by cloudflared: it checks Access tokens only from a route's own originRequest",
        'move `access:` to the originRequest of each route to protect',
      );
    }
    if (defaults.ipRules !== undefined) {
      sink.error(
        'tunnel.originRequest.ipRules',
        "is not used by cloudflared's SOCKS proxies: they read only their own ipRules",
        'move `ipRules:` to the socks route',
      );
    }
    if (defaults.bastionMode === true) {
      sink.error(
        'tunnel.originRequest.bastionMode',
        'would turn every route into a bastion',
        'remove it and add a route with `scheme: bastion`',
      );
    }
  }
  const catchAll = tunnel.catchAll;
  if (typeof catchAll === 'string') {
    const compiled = compileIngress([{ service: catchAll }]);
    if (!compiled.ok) {
      sink.error(
        'tunnel.catchAll',
        `is not a service cloudflared accepts: ${compiled.output.replace(/^Validation failed: /, '')}`,
        'write a status code like 404, `http_status:503`, `hello_world` or `http://192.168.1.9:80`',
      );
    } else if (catchAll === 'bastion' || catchAll === 'socks-proxy') {
      // A catch-all bastion would open the LAN to any hostname routed to the tunnel; a catch-all SOCKS proxy has no ipRules and denies everything.
      sink.error(
        'tunnel.catchAll',
        `${catchAll} cannot be the catch-all`,
        'use a status code, hello_world or an http(s) address; publish a bastion on its own hostname',
      );
    }
  }
}
