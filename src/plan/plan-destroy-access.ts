import type { AccessState } from '../ports/access.js';
import type { AccessAppChange, AccessPolicyChange, ServiceTokenChange } from './access-changes.js';
import { audPlaceholder } from './access-changes.js';
import { ACCESS_TAG, accessOwnedSuffix } from './ownership.js';
import { appsCovering, existingAppView, existingPolicyView } from './plan-access.js';

/** Something destroy saw but leaves alone, and why. */
export interface KeptResource {
  address: string;
  reason: string;
}

export interface AccessTeardown {
  apps: AccessAppChange[];
  policies: AccessPolicyChange[];
  tokens: ServiceTokenChange[];
  kept: KeptResource[];
}

/**
 * destroy's Access part: every application, reusable policy and service token carrying the
 * tunnel's marks (ownership.ts: the tag and the name `proxflare:<tunnel>:<name>` for an app,
 * the name for a policy or token), as deletes. An app covering one of `hostnames` without our
 * marks is kept; so is a policy of ours that an app we do not delete still links (deleting it
 * would change that app's protection). Pure.
 */
export function planAccessTeardown(
  accountId: string,
  tunnel: string,
  state: AccessState | undefined,
  hostnames: readonly string[],
): AccessTeardown {
  const out: AccessTeardown = { apps: [], policies: [], tokens: [], kept: [] };
  if (!state) return out;
  const policyNames = new Map(state.policies.map((p) => [p.id, accessOwnedSuffix(p.name, tunnel) ?? p.name]));

  const ourApps = state.apps.filter((a) => a.tags.includes(ACCESS_TAG) && accessOwnedSuffix(a.name, tunnel) !== undefined);
  for (const app of ourApps) {
    const hostname = accessOwnedSuffix(app.name, tunnel)!;
    out.apps.push({
      kind: 'access-app',
      address: `access-app/${hostname}`,
      action: 'delete',
      reason: `carries proxflare's marks for tunnel ${tunnel}`,
      accountId,
      id: app.id,
      hostname,
      before: existingAppView(app, policyNames),
      after: undefined,
      audPlaceholder: audPlaceholder(hostname),
    });
  }
  for (const hostname of [...new Set(hostnames)].sort()) {
    for (const app of appsCovering(state, hostname)) {
      if (ourApps.includes(app)) continue;
      out.kept.push({
        address: `access-app/${hostname}`,
        reason: `Access application "${app.name}" (id ${app.id}) is not proxflare's: left in place`,
      });
    }
  }

  const deletedApps = new Set(ourApps.map((a) => a.id));
  for (const policy of state.policies) {
    const name = accessOwnedSuffix(policy.name, tunnel);
    if (name === undefined) continue;
    const address = `access-policy/${name}`;
    const others = state.apps.filter((a) => !deletedApps.has(a.id) && a.policyIds.includes(policy.id));
    if (others.length > 0) {
      out.kept.push({
        address,
        reason: `still linked by Access application ${others.map((a) => `"${a.name}"`).join(', ')}, which is not proxflare's: left in place`,
      });
      continue;
    }
    out.policies.push({
      kind: 'access-policy',
      address,
      action: 'delete',
      reason: `carries proxflare's name for tunnel ${tunnel}`,
      accountId,
      id: policy.id,
      policy: name,
      before: existingPolicyView(policy, state),
      after: undefined,
    });
  }

  for (const token of state.serviceTokens) {
    const name = accessOwnedSuffix(token.name, tunnel);
    if (name === undefined) continue;
    out.tokens.push({
      kind: 'service-token',
      address: `service-token/${name}`,
      action: 'delete',
      reason: `carries proxflare's name for tunnel ${tunnel}; its client id and secret stop working`,
      accountId,
      id: token.id,
      token: name,
      before: { name: token.name, clientId: token.clientId },
      after: undefined,
    });
  }
  return out;
}
