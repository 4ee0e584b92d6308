import type { ExistingPolicySpec, OwnedPolicySpec, ServiceAccess } from '../inventory/access-types.js';
import { didYouMean } from '../inventory/did-you-mean.js';
import type { Inventory } from '../inventory/types.js';
import type { AccessApp, AccessAppBody, AccessPolicy, AccessPolicyBody, AccessRule, AccessState } from '../ports/access.js';
import type { AccessAppChange, AccessAppView, AccessPolicyChange, AccessPolicyView, ServiceTokenChange } from './access-changes.js';
import { POLICY_REF, TOKEN_REF, audPlaceholder } from './access-changes.js';
import { normaliseApp, normalisePolicy, sameApp, samePolicy } from './access-normalise.js';
import { ACCESS_TAG, accessOwnedName, accessOwnedSuffix } from './ownership.js';
import type { Conflict } from './types.js';
import { UNKNOWN } from './types.js';

/**
 * Cloudflare Access: desired (inventory) + actual (AccessState) → changes. Pure.
 * Ownership marks are defined in ownership.ts; anything without them is never written, and
 * `existing:` policies are only read.
 * Fail-closed: a reference that does not resolve is an error, never a partial app.
 */

export { ACCESS_TAG };
const ACCESS_DOMAIN_SUFFIX = '.cloudflareaccess.com';
/** Access's default session_duration (OpenAPI `access_schemas-session_duration`.default). */
export const DEFAULT_SESSION_DURATION = '24h';

export const ownedName = accessOwnedName;

export interface AccessPlanInput {
  inventory: Inventory;
  /** undefined when the inventory uses no Access (nothing is read, nothing planned). */
  state: AccessState | undefined;
  /** Every hostname the inventory publishes. */
  hostnames: string[];
  adopt: boolean;
}

export interface AccessPlan {
  /** Service tokens and policies to create/update (before apps). */
  tokens: ServiceTokenChange[];
  policies: AccessPolicyChange[];
  apps: AccessAppChange[];
  errors: string[];
  conflicts: Conflict[];
  warnings: string[];
}

/** What the connector must check for a protected hostname (cloudflared `originRequest.access`). */
export interface ConnectorAccessCheck {
  teamName: string;
  /** The app's aud, or its placeholder when this plan creates the app. */
  aud: string;
}

/** Protected hostnames of the inventory with their access (first route of a hostname wins; checks make them agree). */
export function protectedHostnames(inventory: Inventory): Map<string, ServiceAccess> {
  const out = new Map<string, ServiceAccess>();
  for (const owner of [...inventory.guests, ...inventory.hosts]) {
    for (const s of owner.services) if (s.access && s.hostname !== '' && !out.has(s.hostname)) out.set(s.hostname, s.access);
  }
  return out;
}

export function teamNameOf(inventory: Inventory, state: AccessState | undefined): string | undefined {
  if (inventory.access?.teamName) return inventory.access.teamName;
  const domain = state?.organization?.authDomain.toLowerCase();
  return domain?.endsWith(ACCESS_DOMAIN_SUFFIX) ? domain.slice(0, -ACCESS_DOMAIN_SUFFIX.length) : undefined;
}

/** The app proxflare owns for a hostname: both marks, tag and deterministic name. */
export function ownedApp(state: AccessState, tunnel: string, hostname: string): AccessApp | undefined {
  return state.apps.find((a) => a.name === ownedName(tunnel, hostname) && a.tags.includes(ACCESS_TAG));
}

/** Apps covering a hostname, whoever made them (`domain` or any public destination). */
export function appsCovering(state: AccessState, hostname: string): AccessApp[] {
  const bare = (uri: string) => uri.toLowerCase().replace(/\/.*$/, '');
  return state.apps.filter(
    (a) => bare(a.domain) === hostname || a.destinations.some((d) => d.type === 'public' && bare(d.uri) === hostname),
  );
}

/** For desired-state: the Access check to render per protected hostname. */
export function connectorAccessChecks(inventory: Inventory, state: AccessState | undefined): Map<string, ConnectorAccessCheck> {
  const checks = new Map<string, ConnectorAccessCheck>();
  if (!inventory.access || !state) return checks;
  const teamName = teamNameOf(inventory, state);
  if (!teamName) return checks;
  for (const hostname of protectedHostnames(inventory).keys()) {
    // An app this plan creates or adopts gets its aud at apply time: the placeholder stands in until then.
    const app = ownedApp(state, inventory.tunnel.name, hostname);
    checks.set(hostname, { teamName, aud: app?.aud || audPlaceholder(hostname) });
  }
  return checks;
}

export function planAccess(input: AccessPlanInput): AccessPlan {
  const plan: AccessPlan = { tokens: [], policies: [], apps: [], errors: [], conflicts: [], warnings: [] };
  const { inventory, state } = input;
  const access = inventory.access;
  if (!access || !state) return plan;
  const accountId = inventory.cloudflare.accountId;
  const tunnel = inventory.tunnel.name;
  const where = (field: string) => inventory.positions.locate(field);

  if (!state.organization) {
    plan.errors.push(
      `${where('access')} access: account ${accountId} has no Zero Trust organization yet. One manual step: open the Cloudflare dashboard → Zero Trust, pick a team name and the Free plan (up to 50 users), then re-run`,
    );
    return plan;
  }
  const teamName = teamNameOf(inventory, state);
  if (!teamName) {
    plan.errors.push(
      `${where('access')} access: cannot tell the team name from the organization's auth_domain "${state.organization.authDomain}" (set access.teamName)`,
    );
    return plan;
  }
  if (access.teamName) {
    const actualTeam = teamNameOf({ ...inventory, access: { ...access, teamName: undefined } } as Inventory, state);
    if (actualTeam && actualTeam !== access.teamName) {
      plan.errors.push(
        `${where('access.teamName')} access.teamName: "${access.teamName}" is not this account's team (its auth_domain is ${state.organization.authDomain}); the connector would fetch the wrong keys and refuse every request`,
      );
    }
  }

  // Service tokens: ours by name; created once (the secret exists only in the create answer).
  const tokenIds = new Map<string, string>();
  for (const t of access.serviceTokens) {
    const found = state.serviceTokens.find((x) => x.name === ownedName(tunnel, t.name));
    if (found) {
      tokenIds.set(t.name, found.id);
      plan.tokens.push({
        kind: 'service-token',
        address: `service-token/${t.name}`,
        action: 'noop',
        reason: '',
        accountId,
        id: found.id,
        token: t.name,
        before: { name: found.name, clientId: found.clientId },
        after: { name: found.name, duration: found.duration },
      });
    } else {
      tokenIds.set(t.name, `${TOKEN_REF}${t.name}`);
      plan.tokens.push({
        kind: 'service-token',
        address: `service-token/${t.name}`,
        action: 'create',
        reason: `client id and secret are written to ${t.secretFile} (0600), once`,
        accountId,
        token: t.name,
        before: undefined,
        after: { name: ownedName(tunnel, t.name), duration: t.duration ?? '8760h' },
        secretFile: t.secretFile,
        ...(t.duration ? { duration: t.duration } : {}),
      });
    }
  }
  for (const found of state.serviceTokens) {
    const name = ownedSuffix(found.name, tunnel);
    if (name !== undefined && !access.serviceTokens.some((t) => t.name === name)) {
      plan.tokens.push({
        kind: 'service-token',
        address: `service-token/${name}`,
        action: 'delete',
        reason: 'not in inventory',
        accountId,
        id: found.id,
        token: name,
        before: { name: found.name, clientId: found.clientId },
        after: undefined,
      });
    }
  }

  // Policies: owned ones are planned; existing ones must resolve to exactly one reusable policy.
  const policyIds = new Map<string, string>();
  const policyNames = new Map<string, string>(); // Cloudflare policy id → name shown in plans
  for (const p of state.policies) policyNames.set(p.id, ownedSuffix(p.name, tunnel) ?? p.name);
  // Owned policies exist while a service uses them: declaring one is not yet publishing anything.
  const usedPolicies = new Set([...protectedHostnames(inventory).values()].flatMap((sa) => sa.policies));
  for (const spec of access.policies.values()) {
    if (spec.kind === 'owned' && !usedPolicies.has(spec.name)) continue;
    if (spec.kind === 'existing') {
      const id = resolveExisting(spec, state.policies, where, plan.errors);
      if (id) {
        policyIds.set(spec.name, id);
        policyNames.set(id, spec.name);
      }
      continue;
    }
    const body = policyBody(spec, tunnel, tokenIds, state, where, plan.errors);
    const found = state.policies.find((p) => p.name === ownedName(tunnel, spec.name) && p.reusable);
    if (found) policyIds.set(spec.name, found.id);
    else policyIds.set(spec.name, `${POLICY_REF}${spec.name}`);
    if (!body) continue;
    const after = policyView(body, state, tokenIds);
    if (!found) {
      plan.policies.push({
        kind: 'access-policy',
        address: `access-policy/${spec.name}`,
        action: 'create',
        reason: '',
        accountId,
        policy: spec.name,
        before: undefined,
        after,
        body,
      });
    } else {
      const before = policyView(actualPolicyBody(found), state, tokenIds);
      const same = samePolicy(normalisePolicy(actualPolicyBody(found)), normalisePolicy(body));
      plan.policies.push({
        kind: 'access-policy',
        address: `access-policy/${spec.name}`,
        action: same ? 'noop' : 'update',
        reason: same ? '' : 'rules differ from the inventory',
        accountId,
        id: found.id,
        policy: spec.name,
        before,
        after,
        ...(same ? {} : { body }),
      });
    }
  }
  const policyDeletes: AccessPolicyChange[] = [];
  for (const found of state.policies) {
    const name = ownedSuffix(found.name, tunnel);
    const spec = name === undefined ? undefined : access.policies.get(name);
    if (name !== undefined && (!spec || spec.kind !== 'owned' || !usedPolicies.has(name))) {
      const before = policyView(actualPolicyBody(found), state, tokenIds);
      const reason = spec?.kind === 'owned' ? 'no service uses it any more' : 'not in inventory';
      policyDeletes.push({
        kind: 'access-policy',
        address: `access-policy/${name}`,
        action: 'delete',
        reason,
        accountId,
        id: found.id,
        policy: name,
        before,
        after: undefined,
      });
    }
  }

  // Apps: one per protected hostname.
  const protectedHosts = protectedHostnames(inventory);
  const wanted = new Set(input.hostnames);
  for (const [hostname, sa] of protectedHosts) {
    if (!wanted.has(hostname)) continue;
    const ids: string[] = [];
    let unresolved = false;
    for (const name of sa.policies) {
      const id = policyIds.get(name);
      if (id) ids.push(id);
      else unresolved = true;
    }
    if (unresolved) {
      plan.errors.push(
        `${where(sa.field)} ${hostname}: its access does not resolve (see above); nothing is changed for it: no app, no DNS record, no ingress rule`,
      );
      continue;
    }
    const owned = ownedApp(state, tunnel, hostname);
    const foreign = appsCovering(state, hostname).filter((a) => a !== owned);
    let target = owned;
    if (!owned && foreign.length > 0) {
      if (!input.adopt) {
        plan.conflicts.push({
          address: `access-app/${hostname}`,
          message: `Access application "${foreign[0]!.name}" (id ${foreign[0]!.id}) already covers ${hostname} and is not managed by proxflare`,
          hint: "remove it in Zero Trust → Access → Applications, or re-run with --adopt to take it over (its policies are replaced by the inventory's)",
        });
        continue;
      }
      target = foreign[0];
    } else if (owned && foreign.length > 0) {
      plan.warnings.push(
        `${hostname} is also covered by Access application "${foreign[0]!.name}" (not managed by proxflare); Access applies the most specific one`,
      );
    }
    // Tags others added to the app stay: the inventory owns only ours.
    const body = appBody(hostname, sa, tunnel, ids, target?.tags ?? []);
    const after = appView(body, target?.aud ?? UNKNOWN, policyNames, sa);
    const placeholder = audPlaceholder(hostname);
    if (!target) {
      plan.apps.push({
        kind: 'access-app',
        address: `access-app/${hostname}`,
        action: 'create',
        reason: '',
        accountId,
        hostname,
        before: undefined,
        after,
        body,
        audPlaceholder: placeholder,
      });
      continue;
    }
    const before = appView(actualAppBody(target), target.aud, policyNames, undefined);
    const same = target === owned && sameApp(normaliseApp(actualAppBody(target)), normaliseApp(body));
    plan.apps.push({
      kind: 'access-app',
      address: `access-app/${hostname}`,
      action: same ? 'noop' : 'update',
      reason: same
        ? ''
        : target !== owned
          ? 'adopted (--adopt): marked as ours, policies from the inventory'
          : describeAppDiff(before, after),
      accountId,
      id: target.id,
      hostname,
      before,
      after,
      ...(same ? {} : { body }),
      audPlaceholder: placeholder,
    });
  }
  for (const app of state.apps) {
    if (!app.tags.includes(ACCESS_TAG)) continue;
    const hostname = ownedSuffix(app.name, tunnel);
    if (hostname === undefined || (protectedHosts.has(hostname) && wanted.has(hostname))) continue;
    plan.apps.push({
      kind: 'access-app',
      address: `access-app/${hostname}`,
      action: 'delete',
      reason: wanted.has(hostname) ? 'access removed from the inventory: the hostname becomes PUBLIC' : 'hostname not in inventory',
      accountId,
      id: app.id,
      hostname,
      before: appView(actualAppBody(app), app.aud, policyNames, undefined),
      after: undefined,
      audPlaceholder: audPlaceholder(hostname),
    });
  }
  plan.policies.push(...policyDeletes);
  return plan;
}

const ownedSuffix = accessOwnedSuffix;

function resolveExisting(
  spec: ExistingPolicySpec,
  policies: AccessPolicy[],
  where: (f: string) => string,
  errors: string[],
): string | undefined {
  const matches = policies.filter((p) => p.reusable && p.name === spec.existing);
  if (matches.length === 1) return matches[0]!.id;
  const field = `${spec.field}.existing`;
  if (matches.length === 0) {
    const names = policies.filter((p) => p.reusable && !p.name.startsWith('proxflare:')).map((p) => p.name);
    const close = didYouMean(spec.existing, names);
    errors.push(
      `${where(field)} ${field}: no reusable Access policy is named "${spec.existing}"` +
        (close
          ? ` (did you mean "${close}"? names are exact)`
          : names.length > 0
            ? ` (existing: ${names.slice(0, 10).join(', ')})`
            : ' (the account has none)'),
    );
  } else {
    errors.push(
      `${where(field)} ${field}: ${matches.length} reusable Access policies are named "${spec.existing}" (ids ${matches.map((m) => m.id).join(', ')}); rename one in the dashboard`,
    );
  }
  return undefined;
}

function policyBody(
  spec: OwnedPolicySpec,
  tunnel: string,
  tokenIds: Map<string, string>,
  state: AccessState,
  where: (f: string) => string,
  errors: string[],
): AccessPolicyBody | undefined {
  const require: AccessRule[] = [];
  let ok = true;
  spec.idps.forEach((name, i) => {
    const matches = state.identityProviders.filter((p) => p.name === name);
    if (matches.length !== 1) {
      ok = false;
      const field = `${spec.field}.idps[${i}]`;
      errors.push(
        `${where(field)} ${field}: ${matches.length === 0 ? `no identity provider is named "${name}"` : `${matches.length} identity providers are named "${name}"`}` +
          ` (configured: ${state.identityProviders.map((p) => p.name).join(', ') || 'none'})`,
      );
      return;
    }
    require.push({ login_method: { id: matches[0]!.id } });
  });
  if (!ok) return undefined;
  if (spec.serviceTokens.length > 0) {
    return {
      name: ownedName(tunnel, spec.name),
      // Access evaluates service tokens in Service Auth policies only (access-ha-health.md §1.2).
      decision: 'non_identity',
      include: spec.serviceTokens.map((t) => ({ service_token: { token_id: tokenIds.get(t) ?? `${TOKEN_REF}${t}` } })),
      exclude: [],
      require: [],
    };
  }
  return {
    name: ownedName(tunnel, spec.name),
    decision: 'allow',
    include: [...spec.emails.map((email) => ({ email: { email } })), ...spec.emailDomains.map((domain) => ({ email_domain: { domain } }))],
    exclude: [],
    require,
  };
}

function actualPolicyBody(p: AccessPolicy): AccessPolicyBody {
  return { name: p.name, decision: p.decision as AccessPolicyBody['decision'], include: p.include, exclude: p.exclude, require: p.require };
}

function appBody(hostname: string, sa: ServiceAccess, tunnel: string, policyIds: string[], otherTags: string[]): AccessAppBody {
  return {
    name: ownedName(tunnel, hostname),
    type: 'self_hosted',
    domain: hostname,
    destinations: [
      { type: 'public', uri: hostname, overrides: sa.publicPaths.map((path_pattern) => ({ behavior: 'public', path_pattern })) },
    ],
    policies: policyIds,
    allowed_idps: [],
    session_duration: sa.sessionDuration ?? DEFAULT_SESSION_DURATION,
    tags: [...new Set([ACCESS_TAG, ...otherTags])].sort(),
    app_launcher_visible: true,
  };
}

function actualAppBody(a: AccessApp): AccessAppBody {
  return {
    name: a.name,
    type: 'self_hosted',
    domain: a.domain,
    destinations: a.destinations,
    policies: a.policyIds,
    allowed_idps: a.allowedIdps,
    session_duration: a.sessionDuration,
    tags: a.tags,
    app_launcher_visible: true,
  };
}

function describeRule(rule: AccessRule, state: AccessState, tokenIds: Map<string, string>): string {
  const [key, value] = Object.entries(rule)[0] ?? ['?', {}];
  if (key === 'email') return `email ${String(value['email'])}`;
  if (key === 'email_domain') return `email domain ${String(value['domain'])}`;
  if (key === 'service_token') {
    const id = String(value['token_id']);
    const name = [...tokenIds.entries()].find(([, v]) => v === id)?.[0] ?? state.serviceTokens.find((t) => t.id === id)?.name ?? id;
    return `service token ${name.replace(/^@service-token:/, '')}`;
  }
  if (key === 'login_method') {
    const id = String(value['id']);
    return `login with ${state.identityProviders.find((p) => p.id === id)?.name ?? id}`;
  }
  return `${key} ${JSON.stringify(value)}`;
}

function policyView(body: AccessPolicyBody, state: AccessState, tokenIds: Map<string, string>): AccessPolicyView {
  return {
    name: body.name,
    decision: body.decision,
    include: body.include.map((r) => describeRule(r, state, tokenIds)).sort(),
    require: body.require.map((r) => describeRule(r, state, tokenIds)).sort(),
  };
}

function appView(body: AccessAppBody, aud: string, policyNames: Map<string, string>, sa: ServiceAccess | undefined): AccessAppView {
  const n = normaliseApp(body);
  return {
    name: body.name,
    domain: body.domain,
    policies: sa ? [...sa.policies] : body.policies.map((id) => policyNames.get(id) ?? id),
    sessionDuration: body.session_duration || DEFAULT_SESSION_DURATION,
    publicPaths: n.publicPaths,
    allowedIdps: n.allowedIdps,
    tags: n.tags,
    aud,
  };
}

function describeAppDiff(before: AccessAppView, after: AccessAppView): string {
  const parts: string[] = [];
  if (before.name !== after.name) parts.push('name');
  if (before.policies.join() !== after.policies.join())
    parts.push(`policies ${before.policies.join(', ') || '(none)'} → ${after.policies.join(', ')}`);
  if (before.sessionDuration !== after.sessionDuration) parts.push(`session ${before.sessionDuration} → ${after.sessionDuration}`);
  if (before.publicPaths.join() !== after.publicPaths.join()) parts.push('public paths');
  if (before.allowedIdps.join() !== after.allowedIdps.join()) parts.push('allowed identity providers');
  if (before.tags.join() !== after.tags.join()) parts.push('tags');
  return parts.length > 0 ? parts.join('; ') : 'destinations differ';
}

/** How an existing app is shown (destroy lists what it deletes). */
export function existingAppView(app: AccessApp, policyNames: Map<string, string>): AccessAppView {
  return appView(actualAppBody(app), app.aud, policyNames, undefined);
}

/** How an existing policy is shown (destroy lists what it deletes). */
export function existingPolicyView(policy: AccessPolicy, state: AccessState): AccessPolicyView {
  return policyView(actualPolicyBody(policy), state, new Map());
}
