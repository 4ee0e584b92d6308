import { parseHostname } from './hostnames.js';
import { didYouMean } from './did-you-mean.js';
import type { IssueSink } from './issue-sink.js';
import { childField } from './source-map.js';

/**
 * Cross-field rules for Cloudflare Access: every name used must be declared, policies must
 * be expressible in Access, public path exceptions must be patterns Access accepts. Runs on
 * raw data (after or despite schema errors); values of the wrong type are left to the schema.
 */
export function checkAccess(raw: Record<string, unknown>, sink: IssueSink): void {
  const access = record(raw.access);
  const policies = access ? (record(access.policies) ?? {}) : undefined;
  const tokens = new Set<string>();
  if (access && Array.isArray(access.serviceTokens)) {
    access.serviceTokens.forEach((t, i) => {
      const name = typeof t === 'string' ? t : typeof record(t)?.name === 'string' ? (record(t)!.name as string) : undefined;
      if (name === undefined) return;
      if (tokens.has(name))
        sink.error(childField('access.serviceTokens', i), `service token "${name}" is declared twice`, 'declare each token once');
      tokens.add(name);
    });
  }
  if (policies) {
    for (const [name, value] of Object.entries(policies)) checkPolicy(name, record(value), tokens, sink);
  }

  const used = new Set<string>();
  const hostAccess = new Map<string, { field: string; key: string }>();
  // Services of guests and of hosts, each with its field path.
  const owners = [
    ...(Array.isArray(raw.guests) ? raw.guests.map((g, i) => ({ g, field: `guests[${i}]` })) : []),
    ...(Array.isArray(raw.hosts) ? raw.hosts.map((g, i) => ({ g, field: `hosts[${i}]` })) : []),
  ];
  owners.forEach(({ g, field: owner }) => {
    const services = record(g)?.services;
    if (!Array.isArray(services)) return;
    services.forEach((s, j) => {
      const service = record(s);
      if (!service || service.access === undefined) return;
      const field = `${owner}.services[${j}].access`;
      const names = policyNames(service.access);
      for (const n of names) used.add(n.name);
      if (!policies) {
        sink.error(
          field,
          'uses Cloudflare Access but the inventory has no top-level `access:` section',
          'add `access:` with `policies:` declaring the policies used here',
        );
      } else {
        for (const n of names) {
          if (!(n.name in policies)) {
            const guess = didYouMean(n.name, Object.keys(policies));
            sink.error(
              n.field(field),
              `policy "${n.name}" is not declared in access.policies`,
              guess
                ? `did you mean "${guess}"?`
                : `declare it under access.policies (known: ${Object.keys(policies).join(', ') || 'none'})`,
            );
          }
        }
      }
      const detail = record(service.access);
      if (detail && Array.isArray(detail.publicPaths)) {
        detail.publicPaths.forEach((p, k) => {
          const problem = typeof p === 'string' ? publicPathProblem(p) : undefined;
          if (problem)
            sink.error(`${field}.publicPaths[${k}]`, problem, 'write a path like /api/webhook/* (one * per path segment at most)');
        });
      }
      if (record(record(service.originRequest)?.access)) {
        sink.error(
          field,
          'cannot be combined with originRequest.access',
          "remove originRequest.access: proxflare renders the connector's Access check itself from `access:`",
        );
      }
      const scheme = typeof service.scheme === 'string' ? service.scheme : 'http';
      if (scheme === 'tcp' || scheme === 'ssh' || scheme === 'rdp') {
        const host = typeof service.hostname === 'string' ? service.hostname : '<hostname>';
        const how =
          scheme === 'ssh'
            ? `ssh clients connect through \`cloudflared access ssh --hostname ${host}\` (ProxyCommand in ~/.ssh/config)`
            : `clients connect through \`cloudflared access ${scheme === 'rdp' ? 'rdp' : 'tcp'} --hostname ${host} --url localhost:<port>\``;
        sink.warn(field, `Access on a ${scheme} route works, but not from a plain ${scheme} client: ${how}`);
      }
      if (typeof service.hostname === 'string') {
        const parsed = parseHostname(service.hostname);
        if (parsed.ok) {
          const key = JSON.stringify(service.access);
          const first = hostAccess.get(parsed.hostname);
          if (first && first.key !== key) {
            sink.error(
              field,
              `${parsed.hostname} is also published by ${first.field} (${sink.locate(first.field)}) with a different access`,
              'one hostname is one Access application: give every route of it the same `access:`',
            );
          } else if (!first) hostAccess.set(parsed.hostname, { field, key });
        }
      }
    });
  });
  // Routes of a hostname without `access:` next to routes with it would be covered by the app anyway; say so.
  owners.forEach(({ g, field: owner }) => {
    const services = record(g)?.services;
    if (!Array.isArray(services)) return;
    services.forEach((s, j) => {
      const service = record(s);
      if (!service || service.access !== undefined || typeof service.hostname !== 'string') return;
      const parsed = parseHostname(service.hostname);
      const other = parsed.ok ? hostAccess.get(parsed.hostname) : undefined;
      if (other) {
        sink.error(
          `${owner}.services[${j}].hostname`,
          `${parsed.ok ? parsed.hostname : ''} is protected by ${other.field} but this route has no access`,
          'one hostname is one Access application: give every route of it the same `access:`',
        );
      }
    });
  });
  if (policies) {
    for (const name of Object.keys(policies)) {
      if (!used.has(name)) sink.warn(`access.policies.${name}`, `policy "${name}" is not used by any service`);
    }
  }
}

function checkPolicy(name: string, policy: Record<string, unknown> | undefined, tokens: Set<string>, sink: IssueSink): void {
  if (!policy) return;
  const field = `access.policies.${name}`;
  const list = (key: string) => (Array.isArray(policy[key]) ? (policy[key] as unknown[]) : []);
  const people = list('emails').length + list('emailDomains').length;
  const machines = list('serviceTokens');
  if (policy.existing !== undefined) {
    for (const key of ['emails', 'emailDomains', 'serviceTokens', 'idps']) {
      if (policy[key] !== undefined) {
        sink.error(
          `${field}.${key}`,
          'cannot be combined with `existing:`',
          'an existing policy is used as it is in Cloudflare; remove this key, or remove `existing:` to let proxflare own the policy',
        );
      }
    }
    return;
  }
  if (people === 0 && machines.length === 0) {
    sink.error(
      field,
      'allows nobody: it needs emails, emailDomains or serviceTokens (or `existing:` to use a dashboard policy)',
      'add e.g. `emails: [me@example.com]`',
    );
  }
  if (people > 0 && machines.length > 0) {
    sink.error(
      `${field}.serviceTokens`,
      'cannot be mixed with emails/emailDomains in one policy: Access checks service tokens only in a Service Auth (non_identity) policy',
      'move the tokens to a policy of their own and list both policies on the service',
    );
  }
  if (list('idps').length > 1) {
    sink.error(
      `${field}.idps`,
      'lists more than one identity provider: Access ANDs require rules, so nobody could satisfy two login methods at once',
      'keep one identity provider per policy, and list several policies on the service (any one of them admits)',
    );
  }
  if (machines.length > 0 && policy.idps !== undefined) {
    sink.error(`${field}.idps`, 'does not apply to service tokens (they do not log in)', 'remove idps from this policy');
  }
  machines.forEach((t, i) => {
    if (typeof t === 'string' && !tokens.has(t)) {
      sink.error(
        `${field}.serviceTokens[${i}]`,
        `service token "${t}" is not declared in access.serviceTokens`,
        `add \`${t}\` to access.serviceTokens`,
      );
    }
  });
}

function policyNames(value: unknown): { name: string; field: (base: string) => string }[] {
  if (typeof value === 'string') return [{ name: value, field: (b) => b }];
  const list = Array.isArray(value) ? value : Array.isArray(record(value)?.policies) ? (record(value)!.policies as unknown[]) : [];
  const prefix = Array.isArray(value) ? '' : '.policies';
  return list.flatMap((n, i) => (typeof n === 'string' ? [{ name: n, field: (b: string) => `${b}${prefix}[${i}]` }] : []));
}

/**
 * Access override path patterns (SDK 7.3 `PublicDestination.Override.path_pattern`): "Wildcards (`*`)
 * are supported, but each path segment may have at most one wildcard".
 */
export function publicPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `"${path}" must start with /`;
  if (/[\s?#]/.test(path) || /[\u0000-\u001f\u007f]/.test(path)) return `"${path}" must not contain spaces, ? or #`;
  if (path.includes('://')) return `"${path}" is a URL; write only the path`;
  const bad = path.split('/').find((segment) => (segment.match(/\*/g) ?? []).length > 1);
  if (bad !== undefined) return `"${path}" has more than one * in the segment "${bad}"`;
  return undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
