import type { Secret } from '../core/secret.js';

/**
 * The Cloudflare Access port (Zero Trust, account scope: reusable policies exist only there).
 * Used only when the inventory has an `access:` section, so a token without Access
 * permissions keeps working for everything else.
 * Adapter: src/cloudflare/access-adapter.ts (SDK 7.3 `client.zeroTrust.access.*`).
 * Simulator: src/sim/cloudflare/access-routes.ts.
 */

/** One Access rule, in the API's shape (`{email:{email}}`, `{service_token:{token_id}}`, ...). */
export type AccessRule = Record<string, Record<string, unknown>>;

export interface AccessOrganization {
  /** `<team>.cloudflareaccess.com` */
  authDomain: string;
  name: string;
}

export interface AccessPolicy {
  id: string;
  name: string;
  decision: string;
  include: AccessRule[];
  exclude: AccessRule[];
  require: AccessRule[];
  /** As the API returns it; absent when the API leaves it out. */
  sessionDuration?: string;
  reusable: boolean;
  appCount: number;
}

export interface AccessDestination {
  type: string;
  uri: string;
  overrides: { behavior: string; path_pattern: string }[];
}

export interface AccessApp {
  id: string;
  /** Audience tag: what the connector checks the Access JWT's `aud` against. */
  aud: string;
  name: string;
  type: string;
  domain: string;
  destinations: AccessDestination[];
  /** Linked policy ids, in precedence order. */
  policyIds: string[];
  allowedIdps: string[];
  sessionDuration: string;
  tags: string[];
}

export interface ServiceToken {
  id: string;
  name: string;
  clientId: string;
  duration: string;
  expiresAt?: string;
}

export interface IdentityProvider {
  id: string;
  name: string;
  type: string;
}

/** Everything Access-related a plan needs, read in one go; a failed read throws, never "nothing there". */
export interface AccessState {
  /** undefined: the account has no Zero Trust organization yet (one manual step in the dashboard). */
  organization: AccessOrganization | undefined;
  apps: AccessApp[];
  policies: AccessPolicy[];
  serviceTokens: ServiceToken[];
  identityProviders: IdentityProvider[];
  tags: string[];
}

/** Body of a reusable policy (create and full-replace PUT). */
export interface AccessPolicyBody {
  name: string;
  decision: 'allow' | 'non_identity';
  include: AccessRule[];
  exclude: AccessRule[];
  require: AccessRule[];
}

/** Body of a self-hosted app (create and full-replace PUT: the apps API has no PATCH). */
export interface AccessAppBody {
  name: string;
  type: 'self_hosted';
  domain: string;
  destinations: AccessDestination[];
  /** Policy ids in precedence order. */
  policies: string[];
  allowed_idps: string[];
  session_duration: string;
  tags: string[];
  app_launcher_visible: boolean;
}

export interface CreatedServiceToken {
  token: ServiceToken;
  clientSecret: Secret;
}

export interface AccessReader {
  readAccess(accountId: string): Promise<AccessState>;
}

export interface AccessWriter {
  /** Create the Access tag unless it exists (apps can only carry existing tags). */
  ensureTag(accountId: string, name: string): Promise<void>;
  createPolicy(accountId: string, body: AccessPolicyBody): Promise<AccessPolicy>;
  updatePolicy(accountId: string, id: string, body: AccessPolicyBody): Promise<AccessPolicy>;
  deletePolicy(accountId: string, id: string): Promise<void>;
  createApp(accountId: string, body: AccessAppBody): Promise<AccessApp>;
  updateApp(accountId: string, id: string, body: AccessAppBody): Promise<AccessApp>;
  deleteApp(accountId: string, id: string): Promise<void>;
  /** The secret is only ever returned here. */
  createServiceToken(accountId: string, name: string, duration: string | undefined): Promise<CreatedServiceToken>;
  deleteServiceToken(accountId: string, id: string): Promise<void>;
}

export interface CloudflareAccess extends AccessReader, AccessWriter {}
