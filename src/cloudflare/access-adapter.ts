import type { SdkClient } from './sdk-resources.js';
import { APIError } from 'cloudflare/core/error';
import { ProviderError } from '../core/errors.js';
import { silentReporter, type Reporter } from '../core/reporter.js';
import { Secret } from '../core/secret.js';
import type { CloudflareSettings } from '../inventory/types.js';
import type {
  AccessApp,
  AccessAppBody,
  AccessPolicy,
  AccessPolicyBody,
  AccessRule,
  AccessState,
  CloudflareAccess,
  CreatedServiceToken,
  ServiceToken,
} from '../ports/access.js';
import { toProviderError, type CallContext } from './cloudflare-errors.js';
import type { FetchStats } from './guarded-fetch.js';
import { createSdkClient } from './sdk-client.js';

/**
 * The Access port over the official SDK (cloudflare 7.3.0, account scope):
 *   client.zeroTrust.organizations.list            GET  /accounts/{id}/access/organizations
 *   client.zeroTrust.identityProviders.list        GET  /accounts/{id}/access/identity_providers
 *   client.zeroTrust.access.applications.*         /accounts/{id}/access/apps   (update = PUT; the API has no PATCH for apps)
 *   client.zeroTrust.access.policies.*             /accounts/{id}/access/policies (reusable policies, account only)
 *   client.zeroTrust.access.serviceTokens.*        /accounts/{id}/access/service_tokens
 *   client.zeroTrust.access.tags.*                 /accounts/{id}/access/tags
 * (method names checked in node_modules/cloudflare/resources/zero-trust/**.d.ts and in
 * github:cloudflare/cloudflare-typescript src/resources/zero-trust/access/applications/applications.ts,
 * where update() is `this._client.put(...)`). Listings have no tag filter, so everything is
 * listed (≤ 500 apps per account) and filtered here.
 */

export type SdkApp = {
  id?: string;
  aud?: string;
  name?: string;
  type?: string;
  domain?: string;
  destinations?: { type?: string; uri?: string; overrides?: { behavior?: string; path_pattern?: string }[] }[];
  self_hosted_domains?: string[];
  policies?: { id?: string; precedence?: number }[];
  allowed_idps?: string[];
  session_duration?: string;
  tags?: string[];
};
export type SdkPolicy = {
  id?: string;
  name?: string;
  decision?: string;
  include?: AccessRule[];
  exclude?: AccessRule[];
  require?: AccessRule[];
  session_duration?: string;
  reusable?: boolean;
  app_count?: number;
};
type SdkToken = { id?: string; name?: string; client_id?: string; duration?: string; expires_at?: string; client_secret?: string };

export interface AccessAdapterOptions {
  reporter?: Reporter;
  maxRetries?: number;
  timeoutMs?: number;
}

class AccessSdkAdapter implements CloudflareAccess {
  readonly stats: FetchStats = { requests: 0, rateLimitWaitSeconds: 0 };
  /** Resolves once the SDK has loaded (see sdk-client.ts): every call awaits it. */
  readonly #client: Promise<SdkClient>;

  constructor(settings: CloudflareSettings, options: AccessAdapterOptions) {
    const reporter = options.reporter ?? silentReporter;
    this.#client = createSdkClient(settings, {
      reporter,
      maxRetries: options.maxRetries ?? 4,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      stats: this.stats,
    });
  }

  async #call<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toProviderError(err, ctx);
    }
  }

  async #all<T>(ctx: CallContext, first: () => Promise<{ iterPages(): AsyncIterable<{ result: T[] }> }>): Promise<T[]> {
    return this.#call(ctx, async () => {
      const out: T[] = [];
      for await (const page of (await first()).iterPages()) out.push(...page.result);
      return out;
    });
  }

  async readAccess(accountId: string): Promise<AccessState> {
    const scope = `account ${accountId}`;
    const orgCtx: CallContext = { operation: 'read the Zero Trust organization', permission: 'accessOrg', scope };
    let organization: AccessState['organization'];
    try {
      const org = await (await this.#client).zeroTrust.organizations.list({ account_id: accountId });
      organization = org.auth_domain ? { authDomain: org.auth_domain, name: org.name ?? '' } : undefined;
    } catch (err) {
      // No Zero Trust organization yet: the plan says the one manual step.
      if (err instanceof APIError && err.status === 404) organization = undefined;
      else throw toProviderError(err, orgCtx);
    }
    if (!organization) return { organization, apps: [], policies: [], serviceTokens: [], identityProviders: [], tags: [] };

    const account_id = accountId;
    const apps = (ctx: string): CallContext => ({ operation: ctx, permission: 'accessApps', scope });
    const [appList, policyList, tokenList, idpList, tagList] = await Promise.all([
      this.#all<SdkApp>(
        apps('list Access applications'),
        async () => (await this.#client).zeroTrust.access.applications.list({ account_id, per_page: 100 }) as never,
      ),
      this.#all<SdkPolicy>(
        apps('list reusable Access policies'),
        async () => (await this.#client).zeroTrust.access.policies.list({ account_id, per_page: 100 }) as never,
      ),
      this.#all<SdkToken>(
        { operation: 'list Access service tokens', permission: 'accessTokens', scope },
        async () => (await this.#client).zeroTrust.access.serviceTokens.list({ account_id, per_page: 100 }) as never,
      ),
      this.#all<{ id?: string; name?: string; type?: string }>(
        { operation: 'list identity providers', permission: 'accessOrg', scope },
        async () => (await this.#client).zeroTrust.identityProviders.list({ account_id, per_page: 100 }) as never,
      ),
      this.#all<{ name?: string }>(
        apps('list Access tags'),
        async () => (await this.#client).zeroTrust.access.tags.list({ account_id, per_page: 100 }) as never,
      ),
    ]);
    return {
      organization,
      apps: appList.filter((a) => (a.type ?? 'self_hosted') === 'self_hosted').map(toApp),
      policies: policyList.map(toPolicy),
      serviceTokens: tokenList.map(toToken),
      identityProviders: idpList.map((i) => ({ id: i.id ?? '', name: i.name ?? '', type: i.type ?? '' })),
      tags: tagList.map((t) => t.name ?? ''),
    };
  }

  async ensureTag(accountId: string, name: string): Promise<void> {
    const ctx: CallContext = { operation: `create Access tag ${name}`, permission: 'accessApps', scope: `account ${accountId}` };
    try {
      await (await this.#client).zeroTrust.access.tags.get(name, { account_id: accountId });
      return;
    } catch (err) {
      if (!(err instanceof APIError && err.status === 404)) throw toProviderError(err, ctx);
    }
    await this.#call(ctx, async () => (await this.#client).zeroTrust.access.tags.create({ account_id: accountId, name }));
  }

  async createPolicy(accountId: string, body: AccessPolicyBody): Promise<AccessPolicy> {
    const ctx: CallContext = { operation: `create Access policy ${body.name}`, permission: 'accessApps', scope: `account ${accountId}` };
    const created = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.access.policies.create({ account_id: accountId, ...body } as never, { maxRetries: 0 }),
    );
    return toPolicy(created as SdkPolicy);
  }

  async updatePolicy(accountId: string, id: string, body: AccessPolicyBody): Promise<AccessPolicy> {
    const ctx: CallContext = { operation: `update Access policy ${body.name}`, permission: 'accessApps', scope: `account ${accountId}` };
    const updated = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.access.policies.update(id, { account_id: accountId, ...body } as never),
    );
    return toPolicy(updated as SdkPolicy);
  }

  async deletePolicy(accountId: string, id: string): Promise<void> {
    const ctx: CallContext = { operation: `delete Access policy ${id}`, permission: 'accessApps', scope: `account ${accountId}` };
    await this.#call(ctx, async () => (await this.#client).zeroTrust.access.policies.delete(id, { account_id: accountId }));
  }

  async createApp(accountId: string, body: AccessAppBody): Promise<AccessApp> {
    const ctx: CallContext = {
      operation: `create Access application ${body.name}`,
      permission: 'accessApps',
      scope: `account ${accountId}`,
    };
    // Not retried: a second POST after a lost answer would make a second app on the hostname.
    const created = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.access.applications.create({ account_id: accountId, ...body } as never, { maxRetries: 0 }),
    );
    return checkedApp(toApp(created as SdkApp), ctx);
  }

  async updateApp(accountId: string, id: string, body: AccessAppBody): Promise<AccessApp> {
    const ctx: CallContext = {
      operation: `update Access application ${body.name}`,
      permission: 'accessApps',
      scope: `account ${accountId}`,
    };
    const updated = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.access.applications.update(id, { account_id: accountId, ...body } as never),
    );
    return checkedApp(toApp(updated as SdkApp), ctx);
  }

  async deleteApp(accountId: string, id: string): Promise<void> {
    const ctx: CallContext = { operation: `delete Access application ${id}`, permission: 'accessApps', scope: `account ${accountId}` };
    try {
      await (await this.#client).zeroTrust.access.applications.delete(id, { account_id: accountId });
    } catch (err) {
      if (err instanceof APIError && err.status === 404) return; // already gone: the goal
      throw toProviderError(err, ctx);
    }
  }

  async createServiceToken(accountId: string, name: string, duration: string | undefined): Promise<CreatedServiceToken> {
    const ctx: CallContext = {
      operation: `create Access service token ${name}`,
      permission: 'accessTokens',
      scope: `account ${accountId}`,
    };
    const created = (await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.access.serviceTokens.create(
        { account_id: accountId, name, ...(duration ? { duration } : {}) },
        { maxRetries: 0 },
      ),
    )) as SdkToken;
    if (!created.client_secret)
      throw new ProviderError(
        'cloudflare',
        ctx.operation,
        'the API answered without a client secret',
        'delete the token in Zero Trust → Access → Service Auth and re-run',
      );
    return { token: toToken(created), clientSecret: new Secret(created.client_secret) };
  }

  async deleteServiceToken(accountId: string, id: string): Promise<void> {
    const ctx: CallContext = { operation: `delete Access service token ${id}`, permission: 'accessTokens', scope: `account ${accountId}` };
    await this.#call(ctx, async () => (await this.#client).zeroTrust.access.serviceTokens.delete(id, { account_id: accountId }));
  }
}

function checkedApp(app: AccessApp, ctx: CallContext): AccessApp {
  // The connector's check needs the aud; an app without one would lock everybody out.
  if (!app.aud)
    throw new ProviderError(
      'cloudflare',
      ctx.operation,
      "the API answered without the application's aud",
      're-run sync; it reads the app again',
    );
  return app;
}

/** API app → port shape (exported for the normalisation tests, which feed it API-shaped fixtures). */
export function toApp(a: SdkApp): AccessApp {
  const destinations = (a.destinations ?? []).map((d) => ({
    type: d.type ?? 'public',
    uri: d.uri ?? '',
    overrides: (d.overrides ?? []).map((o) => ({ behavior: o.behavior ?? 'public', path_pattern: o.path_pattern ?? '' })),
  }));
  return {
    id: a.id ?? '',
    aud: a.aud ?? '',
    name: a.name ?? '',
    type: a.type ?? 'self_hosted',
    domain: (a.domain ?? '').toLowerCase(),
    destinations,
    policyIds: [...(a.policies ?? [])].sort((x, y) => (x.precedence ?? 0) - (y.precedence ?? 0)).map((p) => p.id ?? ''),
    allowedIdps: a.allowed_idps ?? [],
    sessionDuration: a.session_duration ?? '24h',
    tags: a.tags ?? [],
  };
}

export function toPolicy(p: SdkPolicy): AccessPolicy {
  return {
    id: p.id ?? '',
    name: p.name ?? '',
    decision: p.decision ?? '',
    include: p.include ?? [],
    exclude: p.exclude ?? [],
    require: p.require ?? [],
    ...(p.session_duration ? { sessionDuration: p.session_duration } : {}),
    reusable: p.reusable ?? true,
    appCount: p.app_count ?? 0,
  };
}

function toToken(t: SdkToken): ServiceToken {
  return {
    id: t.id ?? '',
    name: t.name ?? '',
    clientId: t.client_id ?? '',
    duration: t.duration ?? '8760h',
    ...(t.expires_at ? { expiresAt: t.expires_at } : {}),
  };
}

export function createCloudflareAccess(
  settings: CloudflareSettings,
  options: AccessAdapterOptions = {},
): CloudflareAccess & { readonly stats: Readonly<FetchStats> } {
  return new AccessSdkAdapter(settings, options);
}
